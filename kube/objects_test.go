package kube

import (
	"slices"
	"testing"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// A Deployment runs its Procfile command by a shell, but an image
// release's own command (which the Procfile only shows) as the image
// says; every pod runs as a user that is not root, with no capability
// and no service account token.
func TestDeployment_CommandAndConfinement(t *testing.T) {
	s := New(Config{Registry: "registry.test:5000"}, releaser.Config{})
	im := &releaser.ImageSpec{Entrypoint: []string{"/bin/httpd"}, Cmd: []string{"-f", "-p", "5000"}}
	spec := releaser.Spec{App: "shop", Version: 3, Image: im,
		Procfile: slipway.Procfile{{Type: "web", Command: im.DefaultCommand()}, {Type: "worker", Command: "run-worker --fast"}}}

	web := s.deployment(spec, "registry.test:5000/shop@sha256:00", "web", im.DefaultCommand(), 2, slipway.Limits{Memory: 64 << 20})
	if web.Name != "shop-v3" || *web.Spec.Replicas != 2 {
		t.Errorf("web Deployment %s with %d replicas, want shop-v3 with 2", web.Name, *web.Spec.Replicas)
	}
	c := web.Spec.Template.Spec.Containers[0]
	if c.Command != nil {
		t.Errorf("the image's own command runs by %v, want the image's ENTRYPOINT and CMD", c.Command)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.Ports[0].ContainerPort != WebPort {
		t.Errorf("web container: probe %v, ports %v", c.ReadinessProbe, c.Ports)
	}
	sc := c.SecurityContext
	if sc == nil || !*sc.RunAsNonRoot || *sc.RunAsUser == 0 || *sc.AllowPrivilegeEscalation || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("security context %+v: want not root, no escalation, every capability dropped", sc)
	}
	if ps := web.Spec.Template.Spec; *ps.AutomountServiceAccountToken || ps.ImagePullSecrets[0].Name != PullSecret {
		t.Errorf("pod spec mounts a token (%v) or pulls with %v", *ps.AutomountServiceAccountToken, ps.ImagePullSecrets)
	}
	if mem := c.Resources.Limits.Memory().Value(); mem != 64<<20 {
		t.Errorf("memory limit %d, want 64M", mem)
	}

	worker := s.deployment(spec, "registry.test:5000/shop@sha256:00", "worker", "run-worker --fast", 1, slipway.Limits{})
	if worker.Name != "shop-v3-worker" || !slices.Equal(worker.Spec.Template.Spec.Containers[0].Command, []string{"/bin/sh", "-c", "run-worker --fast"}) {
		t.Errorf("worker Deployment %s runs %v", worker.Name, worker.Spec.Template.Spec.Containers[0].Command)
	}
	if worker.Spec.Template.Spec.Containers[0].Ports != nil {
		t.Errorf("a worker listens on %v: it has no port", worker.Spec.Template.Spec.Containers[0].Ports)
	}
}
