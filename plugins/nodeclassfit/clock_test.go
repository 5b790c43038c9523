package nodeclassfit

import (
	testingclock "k8s.io/utils/clock/testing"
)

func fakeClock() *testingclock.FakeClock { return testingclock.NewFakeClock(now) }
