package kubetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway/slipway/supervisor"
)

// containerSpec is how the supervisor runs container c of obj from img:
// its command, environment, identity, ports, limits and volumes.
func (p *pod) containerSpec(ctx context.Context, obj *corev1.Pod, c *container, img *pulled) (supervisor.Spec, error) {
	cs := c.spec
	env, err := p.env(ctx, obj, cs)
	if err != nil {
		return supervisor.Spec{}, err
	}
	if cs.TTY { // as containerd's, which the container's own TERM overrides
		env = append([]string{"TERM=xterm"}, env...)
	}
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	args := append(append([]string{}, img.config.Entrypoint...), img.config.Cmd...)
	switch {
	case len(cs.Command) > 0:
		args = append(append([]string{}, cs.Command...), cs.Args...)
	case len(cs.Args) > 0:
		args = append(append([]string{}, img.config.Entrypoint...), cs.Args...)
	}
	for i := range args {
		args[i] = expand(args[i], vars)
	}
	uid, gid, err := identity(obj, cs, img.config.User)
	if err != nil {
		return supervisor.Spec{}, err
	}
	sb := &supervisor.Sandbox{UID: uid, GID: gid, Ports: ports(cs, vars)}
	if supervisor.CgroupsAvailable() {
		sb.Cgroup = cgroupPrefix(p.n.dir) + string(obj.UID) + "-" + cs.Name
		if q, ok := cs.Resources.Limits[corev1.ResourceMemory]; ok {
			sb.Limits.Memory = q.Value()
		}
		if q, ok := cs.Resources.Limits[corev1.ResourceCPU]; ok {
			sb.Limits.CPU = q.AsApproximateFloat64()
		}
		sb.Limits = sb.Limits.WithDefaults()
	}
	mounts, err := p.volumes(obj, cs, uid, gid)
	if err != nil {
		return supervisor.Spec{}, err
	}
	workDir := cs.WorkingDir
	if workDir == "" {
		workDir = img.config.WorkingDir
	}
	p.mu.Lock()
	netns := p.net.path()
	p.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(p.podDir(), "tmp"), 0o755); err != nil {
		return supervisor.Spec{}, err
	}
	return supervisor.Spec{
		ID: obj.Namespace + "/" + obj.Name + "/" + cs.Name, Env: env, Sandbox: sb,
		TmpDir:  filepath.Join(p.podDir(), "tmp", cs.Name),
		LogPath: filepath.Join(p.logDir(), cs.Name+".log"),
		Image: &supervisor.ImageRun{Rootfs: img.rootfs, Args: args, WorkDir: workDir, Env: img.config.Env,
			Mounts: mounts, Hostname: obj.Name, NetNS: netns, StateDir: filepath.Join(p.n.dir, "runc")},
	}, nil
}

// env is the container's environment as kubelet makes it: HOSTNAME,
// envFrom (Secrets, ConfigMaps) and then env (values, secretKeyRef,
// configMapKeyRef, fieldRef), read through the API.
func (p *pod) env(ctx context.Context, obj *corev1.Pod, cs corev1.Container) ([]string, error) {
	core := p.n.c.Clientset.CoreV1()
	var env []string
	vars := map[string]string{}
	set := func(k, v string) {
		vars[k] = v
		env = append(env, k+"="+v)
	}
	set("HOSTNAME", obj.Name)
	for _, from := range cs.EnvFrom {
		switch {
		case from.SecretRef != nil:
			s, err := core.Secrets(obj.Namespace).Get(ctx, from.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				if from.SecretRef.Optional != nil && *from.SecretRef.Optional {
					continue
				}
				return nil, fmt.Errorf("secret %q: %w", from.SecretRef.Name, err)
			}
			for k, v := range s.Data {
				set(from.Prefix+k, string(v))
			}
		case from.ConfigMapRef != nil:
			m, err := core.ConfigMaps(obj.Namespace).Get(ctx, from.ConfigMapRef.Name, metav1.GetOptions{})
			if err != nil {
				if from.ConfigMapRef.Optional != nil && *from.ConfigMapRef.Optional {
					continue
				}
				return nil, fmt.Errorf("configmap %q: %w", from.ConfigMapRef.Name, err)
			}
			for k, v := range m.Data {
				set(from.Prefix+k, v)
			}
		}
	}
	for _, e := range cs.Env {
		if e.ValueFrom == nil {
			set(e.Name, expand(e.Value, vars))
			continue
		}
		switch f := e.ValueFrom; {
		case f.SecretKeyRef != nil:
			s, err := core.Secrets(obj.Namespace).Get(ctx, f.SecretKeyRef.Name, metav1.GetOptions{})
			v, ok := []byte(nil), false
			if err == nil {
				v, ok = s.Data[f.SecretKeyRef.Key]
			}
			if !ok {
				if f.SecretKeyRef.Optional != nil && *f.SecretKeyRef.Optional {
					continue
				}
				return nil, fmt.Errorf("env %s: secret %q has no key %q (%v)", e.Name, f.SecretKeyRef.Name, f.SecretKeyRef.Key, err)
			}
			set(e.Name, string(v))
		case f.ConfigMapKeyRef != nil:
			m, err := core.ConfigMaps(obj.Namespace).Get(ctx, f.ConfigMapKeyRef.Name, metav1.GetOptions{})
			v, ok := "", false
			if err == nil {
				v, ok = m.Data[f.ConfigMapKeyRef.Key]
			}
			if !ok {
				if f.ConfigMapKeyRef.Optional != nil && *f.ConfigMapKeyRef.Optional {
					continue
				}
				return nil, fmt.Errorf("env %s: configmap %q has no key %q (%v)", e.Name, f.ConfigMapKeyRef.Name, f.ConfigMapKeyRef.Key, err)
			}
			set(e.Name, v)
		case f.FieldRef != nil:
			v, err := p.field(obj, f.FieldRef.FieldPath)
			if err != nil {
				return nil, fmt.Errorf("env %s: %w", e.Name, err)
			}
			set(e.Name, v)
		default:
			return nil, fmt.Errorf("env %s: kubetest's node does not resolve this valueFrom", e.Name)
		}
	}
	return env, nil
}

// field is a fieldRef's value.
func (p *pod) field(obj *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return obj.Name, nil
	case "metadata.namespace":
		return obj.Namespace, nil
	case "metadata.uid":
		return string(obj.UID), nil
	case "spec.nodeName":
		return obj.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return obj.Spec.ServiceAccountName, nil
	case "status.hostIP":
		return "127.0.0.1", nil
	case "status.podIP":
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.net.ip, nil
	}
	return "", fmt.Errorf("fieldRef %s is not resolved by kubetest's node", path)
}

// expand replaces $(NAME) by NAME's value where vars has it, and $$ by
// $, as kubelet does in env values, command and args.
func expand(s string, vars map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				if v, ok := vars[s[i+2:i+end]]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// identity is the uid and gid the container runs as: its
// securityContext's, else the pod's, else the image's USER (numeric),
// else root (without capabilities, as every container here).
func identity(obj *corev1.Pod, cs corev1.Container, imageUser string) (uint32, uint32, error) {
	var uid, gid *int64
	nonRoot := false
	if sc := obj.Spec.SecurityContext; sc != nil {
		uid, gid = sc.RunAsUser, sc.RunAsGroup
		nonRoot = sc.RunAsNonRoot != nil && *sc.RunAsNonRoot
	}
	if sc := cs.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			gid = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			nonRoot = *sc.RunAsNonRoot
		}
	}
	if uid == nil && imageUser != "" {
		u, g, hasGroup := strings.Cut(imageUser, ":")
		n, err := strconv.ParseInt(u, 10, 32)
		if err != nil {
			return 0, 0, fmt.Errorf("the image's USER %q is not numeric: kubetest's node does not read the image's /etc/passwd; set runAsUser", imageUser)
		}
		uid = &n
		if m, err := strconv.ParseInt(g, 10, 32); hasGroup && err == nil && gid == nil {
			gid = &m
		}
	}
	var u, g uint32
	if uid != nil {
		u = uint32(*uid)
	}
	if gid != nil {
		g = uint32(*gid)
	}
	if nonRoot && u == 0 {
		return 0, 0, fmt.Errorf("container has runAsNonRoot and its user would be root")
	}
	return u, g, nil
}

// ports are the TCP ports the container may bind (the sandbox confines
// them, stricter than a kubelet): its containerPorts, its probes' and
// its PORT.
func ports(cs corev1.Container, vars map[string]string) []int {
	var out []int
	for _, p := range cs.Ports {
		if p.Protocol == "" || p.Protocol == corev1.ProtocolTCP {
			out = append(out, int(p.ContainerPort))
		}
	}
	for _, pr := range []*corev1.Probe{cs.ReadinessProbe, cs.LivenessProbe, cs.StartupProbe} {
		switch {
		case pr == nil:
		case pr.HTTPGet != nil && pr.HTTPGet.Port.Type == 0:
			out = append(out, pr.HTTPGet.Port.IntValue())
		case pr.TCPSocket != nil && pr.TCPSocket.Port.Type == 0:
			out = append(out, pr.TCPSocket.Port.IntValue())
		}
	}
	if n, err := strconv.Atoi(vars["PORT"]); err == nil {
		out = append(out, n)
	}
	return out
}

// volumes are the container's mounts of the pod's emptyDir volumes, each
// a directory of the pod's own that its user owns. Other volume types are
// not mounted (the API server adds a projected service account token to
// every pod: that one, too, is left out).
func (p *pod) volumes(obj *corev1.Pod, cs corev1.Container, uid, gid uint32) ([]supervisor.ImageMount, error) {
	empty := map[string]bool{}
	for _, v := range obj.Spec.Volumes {
		if v.EmptyDir != nil {
			empty[v.Name] = true
		}
	}
	var out []supervisor.ImageMount
	for _, m := range cs.VolumeMounts {
		if !empty[m.Name] {
			continue
		}
		dir := filepath.Join(p.podDir(), "volumes", m.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, int(uid), int(gid)); err != nil {
			return nil, err
		}
		out = append(out, supervisor.ImageMount{Source: dir, Destination: m.MountPath})
	}
	return out, nil
}
