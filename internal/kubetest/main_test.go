package kubetest

import (
	"os"
	"testing"

	"github.com/slipway/slipway/supervisor"
)

// The test binary is the sandbox launcher of the containers the test
// node starts, as slipway's own binary is.
func TestMain(m *testing.M) {
	supervisor.Reexec()
	os.Exit(m.Run())
}
