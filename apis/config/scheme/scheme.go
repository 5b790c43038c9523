// Package scheme registers the RebalancerNodeClassFit plugin's args with kube-scheduler, so that
// kube-scheduler decodes them strictly from its configuration file (an unknown field is an error),
// defaults them and converts them to the internal type the plugin receives.
//
// kube-scheduler reads its configuration with two schemes of its own: the decoding scheme
// (k8s.io/kubernetes/pkg/scheduler/apis/config/scheme), built in that package's init, and a
// plugin-args scheme it builds lazily, on first use, from the SchemeBuilders of its internal and
// v1 config packages. Both must know the args before the first configuration is read, so this
// package registers them in init, which runs before main and before any test: the same
// registration every Kubernetes API package does, and the way scheduler-plugins registers its
// args. Importing this package (the plugin does) is all a binary needs.
package scheme

import (
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kubeschedulerv1 "k8s.io/kube-scheduler/config/v1"
	kubeschedulerconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	kubeschedulerscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"github.com/tinorodney/rebalancer/apis/config"
	configv1 "github.com/tinorodney/rebalancer/apis/config/v1"
)

func init() {
	kubeschedulerconfig.SchemeBuilder.Register(config.AddToScheme)
	kubeschedulerv1.SchemeBuilder.Register(configv1.AddToScheme)
	utilruntime.Must(AddToScheme(kubeschedulerscheme.Scheme))
}

// AddToScheme adds the internal and v1 args, defaulting and conversions to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	if err := config.AddToScheme(s); err != nil {
		return err
	}
	return configv1.AddToScheme(s)
}
