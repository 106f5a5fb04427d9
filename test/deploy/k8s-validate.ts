import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import type { K8sObject } from './helm-cli.js';

/**
 * Offline schema validation of rendered manifests with kubernetes-models (ajv validators
 * generated from the Kubernetes OpenAPI spec) and @kubernetes-models/prometheus-operator
 * (generated from the prometheus-operator CRDs). They check types, required fields, enums
 * and formats; like `kubectl --validate=false` they do not reject unknown field names.
 */
type ModelClass = new (data: never) => { validate(): void };

const modules: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'monitoring.coreos.com/v1': monitoringV1,
};

/** Every problem found in one object; empty when it is valid. An unknown kind is a problem. */
export function validateObject(object: K8sObject): string[] {
  const where = `${object.kind ?? '?'}/${object.metadata?.name ?? '?'}`;
  const group = modules[object.apiVersion];
  const model = group?.[object.kind] as ModelClass | undefined;
  if (typeof model !== 'function') return [`${where}: no schema for ${object.apiVersion} ${object.kind}`];
  try {
    new model(object as never).validate();
    return [];
  } catch (error) {
    return [`${where}: ${(error as Error).message}`];
  }
}

export function validateAll(objects: readonly K8sObject[]): string[] {
  return objects.flatMap(validateObject);
}
