package activation

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Listeners returns the listeners passed to this process by name, names
// taken from LISTEN_FDNAMES or, without it, from order (the first
// descriptor is order[0], …). It returns nil when none were passed to
// this process, and clears the variables so that no child sees them.
func Listeners(order []string) (map[string]net.Listener, error) {
	pid, n := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS")
	names := os.Getenv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if pid == "" || n == "" || pid != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	count, err := strconv.Atoi(n)
	if err != nil || count < 1 || count > 64 {
		return nil, fmt.Errorf("LISTEN_FDS=%q: want a number of sockets from 1 to 64", n)
	}
	var labels []string
	if names != "" {
		labels = strings.Split(names, ":")
	} else {
		labels = order
	}
	out := map[string]net.Listener{}
	for i := range count {
		if i >= len(labels) {
			return nil, fmt.Errorf("socket %d of LISTEN_FDS has no name: name them with LISTEN_FDNAMES (%s)", i, strings.Join(order, ":"))
		}
		f := os.NewFile(uintptr(3+i), labels[i])
		ln, err := net.FileListener(f)
		f.Close() // FileListener holds its own descriptor
		if err != nil {
			return nil, fmt.Errorf("socket %q (fd %d): %w", labels[i], 3+i, err)
		}
		out[labels[i]] = ln
	}
	return out, nil
}
