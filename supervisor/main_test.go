package supervisor

import (
	"os"
	"testing"
)

// The test binary is also the sandbox launcher of the processes its tests
// start, as slipway's own binary is.
func TestMain(m *testing.M) {
	Reexec()
	if dir := os.Getenv(superviseEnv); dir != "" {
		superviseForTest(dir)
	}
	os.Exit(m.Run())
}
