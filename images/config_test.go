package images

import (
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestConfig_ReadsWhatTheRuntimeNeeds(t *testing.T) {
	img, err := withConfig(imageOfTars(t), time.Unix(0, 0), func(c *v1.Config) error {
		c.Entrypoint = []string{"/entry"}
		c.Cmd = []string{"serve"}
		c.User = "1000:1000"
		c.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "443/tcp": {}}
		c.Labels = map[string]string{LabelProcesses: `{"web":"serve","clock":"tick"}`}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ic, err := Config(img)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ic.ExposedPorts, []string{"443/tcp", "8080/tcp"}) || ic.User != "1000:1000" || ic.Processes["clock"] != "tick" || ic.Entrypoint[0] != "/entry" {
		t.Errorf("config %+v", ic)
	}
}

func TestConfig_RefusesABrokenProcessesLabel(t *testing.T) {
	for _, label := range []string{"web: serve", `["web"]`} {
		img, err := withConfig(imageOfTars(t), time.Unix(0, 0), func(c *v1.Config) error {
			c.Labels = map[string]string{LabelProcesses: label}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Config(img); err == nil || !strings.Contains(err.Error(), LabelProcesses) {
			t.Errorf("Config of %q: %v, want the label named", label, err)
		}
	}
}
