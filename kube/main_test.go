package kube

import (
	"os"
	"testing"

	"github.com/slipway/slipway/supervisor"
)

// The test binary is the sandbox launcher of the containers the test
// node starts (podlogs_node_test.go), as slipway's own binary is.
func TestMain(m *testing.M) {
	supervisor.Reexec()
	os.Exit(m.Run())
}
