package kube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/slipway/slipway"
	"github.com/slipway/slipway/releaser"
)

// managedSelector keeps the watches to slipway's own objects.
const managedSelector = LabelManagedBy + "=" + ManagedBy

// managed reports whether an object is slipway's to change.
func managed(m metav1.Object) bool { return m.GetLabels()[LabelManagedBy] == ManagedBy }

// runUser is the uid every pod runs as: never root, whatever the image
// says (as on one host, where the image's USER is not used either).
const runUser = 10001

// image returns the image spec's pods run: slipway's registry as the
// nodes reach it, by digest, so that a tag moved later changes nothing.
func (s *Scheduler) image(ctx context.Context, spec releaser.Spec) (string, error) {
	digest := ""
	if spec.Image != nil {
		digest = spec.Image.Digest
	}
	if s.cfg.ImageDigest != nil {
		if d, err := s.cfg.ImageDigest(ctx, spec.App, spec.Version.String()); err == nil {
			digest = d
		} else if digest == "" {
			return "", fmt.Errorf("the image of %s %s is not in slipway's registry: %w", spec.App, spec.Version, err)
		}
	}
	if digest == "" {
		return "", fmt.Errorf("the image of %s %s is not in slipway's registry", spec.App, spec.Version)
	}
	return s.cfg.Registry + "/" + spec.App + "@" + digest, nil
}

// configSecret holds the release's config vars.
func (s *Scheduler) configSecret(spec releaser.Spec) *corev1.Secret {
	data := map[string][]byte{}
	for k, v := range spec.Env {
		data[k] = []byte(v)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ConfigSecretName(spec.App, spec.Version), Namespace: s.ns,
			Labels: s.labels(spec.App, spec.Version, "config")},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

// pullSecret lets the nodes pull from slipway's registry.
func (s *Scheduler) pullSecret(user, password string) (*corev1.Secret, error) {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{s.cfg.Registry: map[string]string{
		"username": user, "password": password, "auth": auth}}})
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: PullSecret, Namespace: s.ns, Labels: map[string]string{LabelManagedBy: ManagedBy}},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}, nil
}

// podSpec is how a pod of spec's process type typ runs command (the
// image's own command when empty).
func (s *Scheduler) podSpec(spec releaser.Spec, image, typ, command string, limits slipway.Limits, restart corev1.RestartPolicy) corev1.PodSpec {
	no, yes := false, true
	uid := int64(runUser)
	c := corev1.Container{
		Name:  typ,
		Image: image,
		Env: []corev1.EnvVar{
			{Name: "DYNO", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
			{Name: "SLIPWAY_RELEASE", Value: spec.Version.String()},
		},
		EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigSecretName(spec.App, spec.Version)}}}},
		ImagePullPolicy: corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot: &yes, RunAsUser: &uid, RunAsGroup: &uid, AllowPrivilegeEscalation: &no,
			Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Resources: resources(limits),
	}
	if command != "" {
		c.Command = []string{"/bin/sh", "-c", command}
	}
	grace := int64(s.rc.StopGrace.Seconds())
	if typ == "web" {
		c.Env = append(c.Env, corev1.EnvVar{Name: "PORT", Value: strconv.Itoa(WebPort)})
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: WebPort, Protocol: corev1.ProtocolTCP}}
		c.ReadinessProbe = readiness(spec.AppJSON)
		// Routers drop a pod once it is deleted; it goes on serving the
		// requests already sent to it meanwhile.
		c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: int64(s.cfg.PreStop.Seconds())}}}
		grace += int64(s.cfg.PreStop.Seconds())
	}
	return corev1.PodSpec{
		Containers:                    []corev1.Container{c},
		RestartPolicy:                 restart,
		ImagePullSecrets:              []corev1.LocalObjectReference{{Name: PullSecret}},
		TerminationGracePeriodSeconds: &grace,
		EnableServiceLinks:            &no,
		AutomountServiceAccountToken:  &no,
	}
}

// readiness is app.json's first web check as the pods' readiness probe:
// a pod takes requests once it answers there; "/" without one.
func readiness(a *slipway.AppJSON) *corev1.Probe {
	path := "/"
	var h slipway.Healthcheck
	if a != nil {
		for _, c := range a.Healthchecks["web"] {
			if c.Path != "" && (c.Type == "" || c.Type == "startup" || c.Type == "readiness") {
				h = c
				path = c.Path
				break
			}
		}
	}
	h = h.Defaults()
	var headers []corev1.HTTPHeader
	for _, hd := range h.HTTPHeaders {
		headers = append(headers, corev1.HTTPHeader{Name: hd.Name, Value: hd.Value})
	}
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromString("http"), HTTPHeaders: headers}},
		InitialDelaySeconds: int32(h.InitialDelay),
		TimeoutSeconds:      int32(max(1, h.Timeout)),
		PeriodSeconds:       1,
		FailureThreshold:    3,
	}
}

// resources are slipway's limits as a pod's: the limit is also the
// request, so that the scheduler places pods by what they may use.
func resources(l slipway.Limits) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{}
	list := corev1.ResourceList{}
	if l.Memory > 0 {
		list[corev1.ResourceMemory] = *resource.NewQuantity(l.Memory, resource.BinarySI)
	}
	if l.CPU > 0 {
		list[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(l.CPU*1000), resource.DecimalSI)
	}
	if len(list) > 0 {
		r.Limits, r.Requests = list, list.DeepCopy()
	}
	return r
}

// deployment runs n pods of spec's process type typ.
func (s *Scheduler) deployment(spec releaser.Spec, image, typ, command string, n int, limits slipway.Limits) *appsv1.Deployment {
	if spec.Image != nil && command == spec.Image.DefaultCommand() {
		// The image's own command (its ENTRYPOINT and CMD, which the
		// Procfile only shows): run as the image says, not by a shell.
		command = ""
	}
	labels := s.labels(spec.App, spec.Version, typ)
	selector := map[string]string{LabelApp: spec.App, LabelRelease: spec.Version.String(), LabelProcess: typ}
	replicas := int32(n)
	zero, one := intstr.FromInt32(0), intstr.FromInt32(1)
	history := int32(0)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: DeploymentName(spec.App, spec.Version, typ), Namespace: s.ns, Labels: labels,
			Annotations: map[string]string{"slipway.dev/commit": spec.Commit}},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			// Only a restart rolls a release's own pods: a new release
			// is a new Deployment, never a rolling update of this one.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero, MaxSurge: &one}},
			RevisionHistoryLimit: &history,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       s.podSpec(spec, image, typ, command, limits, corev1.RestartPolicyAlways),
			},
		},
	}
}

// job runs command once to its end: the release phase, a detached run.
func (s *Scheduler) job(spec releaser.Spec, name, image, process, command string, limits slipway.Limits, deadline int64) *batchv1.Job {
	labels := s.labels(spec.App, spec.Version, process)
	backoff := int32(0)
	ttl := int32(3600)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns, Labels: labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            &backoff,
			ActiveDeadlineSeconds:   &deadline,
			TTLSecondsAfterFinished: &ttl,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       s.podSpec(spec, image, process, command, limits, corev1.RestartPolicyNever),
			},
		},
	}
}

// cronJob runs app.json's cron entry i of spec on its schedule (UTC).
func (s *Scheduler) cronJob(spec releaser.Spec, image string, i int, c slipway.CronJob, limits slipway.Limits) *batchv1.CronJob {
	labels := s.labels(spec.App, spec.Version, "cron")
	j := s.job(spec, "", image, "cron", c.Command, limits, int64(24*3600))
	utc := "Etc/UTC"
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: cronJobName(spec.App, spec.Version, i), Namespace: s.ns, Labels: labels},
		Spec: batchv1.CronJobSpec{
			Schedule:          c.Schedule,
			TimeZone:          &utc,
			ConcurrencyPolicy: batchv1.ForbidConcurrent,
			JobTemplate:       batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: j.Spec},
		},
	}
}

// cronJobName is cron entry i's CronJob: NAME-vN-cron-I (from 1).
func cronJobName(app string, v slipway.Version, i int) string {
	return app + "-" + v.String() + "-cron-" + strconv.Itoa(i+1)
}

// limitsOf picks typ's limits from app's.
func limitsOf(all map[string]slipway.Limits, typ string) slipway.Limits {
	return all[slipway.AllProcesses].Over(all[typ])
}

// releaseSelector selects every object of release v of app.
func releaseSelector(app string, v slipway.Version) string {
	return strings.Join([]string{LabelManagedBy + "=" + ManagedBy, LabelApp + "=" + app, LabelRelease + "=" + v.String()}, ",")
}

// appSelectorAll selects every object of slipway's.
func appSelectorAll() string { return LabelManagedBy + "=" + ManagedBy }

// appSelector selects every object of app.
func appSelector(app string) string {
	return LabelManagedBy + "=" + ManagedBy + "," + LabelApp + "=" + app
}
