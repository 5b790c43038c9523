// Package version is the build's identity, stamped at link time:
//
//	go build -ldflags "-X github.com/tinorodney/rebalancer/pkg/version.Version=v0.4.0 -X github.com/tinorodney/rebalancer/pkg/version.Revision=$(git rev-parse HEAD)"
//
// Unstamped builds report "devel" and the VCS revision Go recorded, if any.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version and Revision are set with -ldflags -X.
var (
	Version  = "devel"
	Revision = ""
)

// Info is the build's identity.
type Info struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build's identity.
func Get() Info {
	rev := Revision
	if rev == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					rev = s.Value
				}
			}
		}
	}
	return Info{Version: Version, Revision: rev, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
}

func (i Info) String() string {
	return fmt.Sprintf("%s (revision %s, %s, %s)", i.Version, i.Revision, i.GoVersion, i.Platform)
}
