package services

import (
	"os"
	"testing"

	"github.com/slipway/slipway/supervisor"
)

// The test binary is also the sandbox launcher of the servers its tests
// start, as slipway's own binary is.
func TestMain(m *testing.M) {
	supervisor.Reexec()
	os.Exit(m.Run())
}
