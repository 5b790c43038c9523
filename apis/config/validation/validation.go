// Package validation checks the RebalancerNodeClassFit plugin's args. The plugin calls it when it
// is built, so a scheduler with bad args stops at start and says why.
package validation

import (
	"net/url"
	"time"

	"k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tinorodney/rebalancer/apis/config"
)

// Limits of the args.
const (
	MaxPlacementWeight      int32 = 100
	MinUsageRefreshInterval       = time.Second
	MaxUsageRefreshInterval       = 10 * time.Minute
)

// ValidateRebalancerNodeClassFitArgs returns every problem with args, not only the first. path is
// where the args sit in the configuration (nil for the top).
func ValidateRebalancerNodeClassFitArgs(path *field.Path, args *config.RebalancerNodeClassFitArgs) field.ErrorList {
	var errs field.ErrorList
	if args == nil {
		return append(errs, field.Required(path, "args are required"))
	}

	wp := path.Child("placementWeights")
	w := args.PlacementWeights
	for _, c := range []struct {
		name  string
		value int32
	}{{"headroom", w.Headroom}, {"classWeight", w.ClassWeight}, {"profile", w.Profile}} {
		if c.value < 0 || c.value > MaxPlacementWeight {
			errs = append(errs, field.Invalid(wp.Child(c.name), c.value, "must be between 0 and 100"))
		}
	}
	if int64(w.Headroom)+int64(w.ClassWeight)+int64(w.Profile) <= 0 {
		errs = append(errs, field.Invalid(wp, w, "headroom, classWeight and profile must not all be 0: the score divides by their sum"))
	}

	if args.PolicyName == "" {
		errs = append(errs, field.Required(path.Child("policyName"), "name of the RebalancePolicy to follow"))
	} else {
		for _, msg := range validation.NameIsDNSSubdomain(args.PolicyName, false) {
			errs = append(errs, field.Invalid(path.Child("policyName"), args.PolicyName, msg))
		}
	}

	if d := args.UsageRefreshInterval.Duration; d < MinUsageRefreshInterval || d > MaxUsageRefreshInterval {
		errs = append(errs, field.Invalid(path.Child("usageRefreshInterval"), d.String(), "must be between 1s and 10m"))
	}

	if a := args.PrometheusAddress; a != "" {
		if u, err := url.Parse(a); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, field.Invalid(path.Child("prometheusAddress"), a, "must be an http or https URL, such as http://prometheus.monitoring:9090"))
		}
	}
	return errs
}
