package whatif_test

import "k8s.io/apimachinery/pkg/runtime/schema"

func schemaGVK(apiVersion, kind string) schema.GroupVersionKind {
	return schema.FromAPIVersionAndKind(apiVersion, kind)
}
