package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway/slipway/internal/testutil"
)

// The client's verbs against a real API server, and the errors
// apierrors tells apart.
func TestClient_CRUDAndErrors(t *testing.T) {
	cs := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	cms := cs.lean.CoreV1().ConfigMaps(testNS)

	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "one", Labels: map[string]string{"k": "a"}}, Data: map[string]string{"x": "1"}}
	made, err := cms.Create(ctx, cm, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if made.UID == "" || made.ResourceVersion == "" || made.Data["x"] != "1" {
		t.Fatalf("Create returned %+v", made)
	}
	if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("a second Create: %v, want AlreadyExists", err)
	}
	if _, err := cms.Get(ctx, "none", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("Get of none: %v, want NotFound", err)
	}

	got, err := cms.Get(ctx, "one", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got.Data["x"] = "2"
	if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got.Data["x"] = "3" // of the version before: someone else's change is not lost
	if _, err := cms.Update(ctx, got, metav1.UpdateOptions{}); !apierrors.IsConflict(err) {
		t.Fatalf("an Update of an old version: %v, want Conflict", err)
	}
	tries := 0
	err = retryOnConflict(func() error {
		tries++
		cur, err := cms.Get(ctx, "one", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Data["x"] = "3"
		if tries == 1 {
			cur.ResourceVersion = got.ResourceVersion // stale the first time
		}
		_, err = cms.Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if err != nil || tries != 2 {
		t.Fatalf("retryOnConflict: %v after %d tries, want success after 2", err, tries)
	}

	if _, err := cms.Patch(ctx, "one", types.MergePatchType, []byte(`{"data":{"y":"p"}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cms.Patch(ctx, "one", types.StrategicMergePatchType, []byte(`{"metadata":{"labels":{"k":"b"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = cms.Get(ctx, "one", metav1.GetOptions{})
	if err != nil || got.Data["x"] != "3" || got.Data["y"] != "p" || got.Labels["k"] != "b" {
		t.Fatalf("after the patches: %+v, %v", got, err)
	}

	for _, name := range []string{"two", "three"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"k": "c"}}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "k=c"})
	if err != nil || len(list.Items) != 2 || list.ResourceVersion == "" {
		t.Fatalf("List k=c: %d items, %v; want 2", len(list.Items), err)
	}
	list, err = cms.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=one"})
	if err != nil || len(list.Items) != 1 || list.Items[0].Name != "one" {
		t.Fatalf("List by field: %+v, %v", list, err)
	}
	if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "k=c"}); err != nil {
		t.Fatal(err)
	}
	if list, err = cms.List(ctx, metav1.ListOptions{LabelSelector: "k"}); err != nil || len(list.Items) != 1 {
		t.Fatalf("after DeleteCollection: %d left, %v; want 1", len(list.Items), err)
	}
	wrong := types.UID("not-its-uid")
	if err := cms.Delete(ctx, "one", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &wrong}}); !apierrors.IsConflict(err) {
		t.Fatalf("Delete with another UID: %v, want Conflict", err)
	}
	if err := cms.Delete(ctx, "one", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cms.Delete(ctx, "one", metav1.DeleteOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a second Delete: %v, want NotFound", err)
	}

	// A client without the token is refused, and says so.
	anon, err := NewClient(ClientConfig{Server: cs.url, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := anon.CoreV1().Secrets(testNS).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) && !apierrors.IsUnauthorized(err) {
		t.Fatalf("without a token: %v, want Forbidden or Unauthorized", err)
	}
}

// A watch from a resourceVersion the API server no longer has (410 Gone)
// lists again: the cache ends with what is there, and the handler hears
// of the differences, deletes included. The API server here keeps its
// whole short history, so a proxy in front of it answers the watches from
// the stale resourceVersions as it does once that history is compacted:
// an ERROR event of code 410 from "1", an HTTP 410 from "2".
func TestInformer_ListsAgainAfterGone(t *testing.T) {
	for _, stale := range []string{"1", "2"} {
		t.Run("from "+stale, func(t *testing.T) { testListsAgainAfterGone(t, stale) })
	}
}

func testListsAgainAfterGone(t *testing.T, stale string) {
	cs := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	cms := cs.lean.CoreV1().ConfigMaps(testNS)
	mk := func(name string) {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{LabelManagedBy: ManagedBy}}}
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mk("a")
	mk("b")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "foreign"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	api, err := url.Parse(cs.url)
	if err != nil {
		t.Fatal(err)
	}
	pass := httputil.NewSingleHostReverseProxy(api)
	pass.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // its own certificate, on loopback
	var expired atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		gone := `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: ` +
			q.Get("resourceVersion") + `","reason":"Expired","code":410}`
		switch {
		case q.Get("watch") == "1" && q.Get("resourceVersion") == "1":
			expired.Add(1)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"type":"ERROR","object":`+gone+"}\n")
		case q.Get("watch") == "1" && q.Get("resourceVersion") == "2":
			expired.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusGone)
			io.WriteString(w, gone)
		default:
			pass.ServeHTTP(w, r)
		}
	}))
	defer proxy.Close()
	via, err := NewClient(ClientConfig{Server: proxy.URL, Token: cs.token})
	if err != nil {
		t.Fatal(err)
	}

	heard := make(chan string, 100)
	inf := newInformer(via.CoreV1().ConfigMaps(testNS), managedSelector, func(cm *corev1.ConfigMap) { heard <- cm.Name }, nil)
	// The cache as a watch that fell behind left it: "a" and "gone"
	// (deleted since), of a resourceVersion compacted away.
	inf.objs["a"] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", ResourceVersion: stale}}
	inf.objs["gone"] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gone", ResourceVersion: stale}}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); inf.run(wctx, stale) }()
	defer func() { stop(); <-done }()

	want := map[string]bool{"a": true, "b": true, "gone": true} // changed, added, deleted
	for len(want) > 0 {
		select {
		case name := <-heard:
			delete(want, name)
		case <-ctx.Done():
			t.Fatalf("the handler did not hear of %v", want)
		}
	}
	names := func() string {
		var out []string
		for _, cm := range inf.List(labels.Everything()) {
			out = append(out, cm.Name)
		}
		return strings.Join(slices.Sorted(slices.Values(out)), " ")
	}
	if got := names(); got != "a b" {
		t.Fatalf("the cache after the list: %q, want \"a b\"", got)
	}
	// And the watch goes on from the new list.
	mk("c")
	testutil.WaitFor(t, "the watch to bring c", func() bool { return inf.Get("c") != nil })
	if err := cms.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "the watch to take a away", func() bool { return inf.Get("a") == nil })
	if inf.Get("foreign") != nil {
		t.Fatal("the cache has an object its selector does not select")
	}
	if n := expired.Load(); n != 1 {
		t.Fatalf("%d watches from the stale resourceVersion, want 1", n)
	}
}

// A watch the API server ends (its timeout) is started again where it
// left off: nothing is missed, nothing listed again.
func TestInformer_WatchesAgainWhenTheStreamEnds(t *testing.T) {
	cs := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	cms := cs.lean.CoreV1().ConfigMaps(testNS)
	inf := newInformer(cms, "", nil, nil)
	rv, err := inf.relist(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secs := int64(1)
	w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: rv, TimeoutSeconds: &secs})
	if err != nil {
		t.Fatal(err)
	}
	for range w.ResultChan() { // ends after a second
	}
	w.Stop()
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// From the old resourceVersion, the object made since comes.
	wctx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	next, err := inf.watch(wctx, rv)
	if err != nil || next == rv || inf.Get("late") == nil {
		t.Fatalf("watch again from %s: %v, at %s, late cached: %v", rv, err, next, inf.Get("late") != nil)
	}
}

// A kubeconfig with the CA's data and a token reaches the API server and
// checks its certificate; a tokenFile is read again when it changes; a
// plugin user is one clear line.
func TestLoadKubeconfig(t *testing.T) {
	cs := cluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Timeout)
	defer cancel()
	dir := t.TempDir()
	ca, err := os.ReadFile(cs.certFile)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, user string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		kc := "apiVersion: v1\nkind: Config\ncurrent-context: c\n" +
			"clusters:\n- name: k\n  cluster:\n    server: " + cs.url + "\n    certificate-authority-data: " + base64.StdEncoding.EncodeToString(ca) + "\n" +
			"contexts:\n- name: c\n  context:\n    cluster: k\n    user: u\n    namespace: " + testNS + "\n" +
			"users:\n- name: u\n  user:\n" + user
		if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	reach := func(path string) error {
		cfg, err := LoadKubeconfig(path)
		if err != nil {
			return err
		}
		if cfg.Namespace != testNS {
			t.Errorf("namespace %q, want %q", cfg.Namespace, testNS)
		}
		c, err := NewClient(cfg)
		if err != nil {
			return err
		}
		_, err = c.CoreV1().ConfigMaps(testNS).List(ctx, metav1.ListOptions{Limit: 1})
		return err
	}
	if err := reach(write("token", "    token: "+cs.token+"\n")); err != nil {
		t.Fatal(err)
	}

	// A tokenFile, relative to the kubeconfig; a new token is used at once.
	tokenFile := filepath.Join(dir, "tok")
	if err := os.WriteFile(tokenFile, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadKubeconfig(write("file", "    tokenFile: tok\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps(testNS).List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Fatalf("with a wrong token: %v, want Unauthorized", err)
	}
	if err := os.WriteFile(tokenFile, []byte(cs.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps(testNS).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("after the token file changed: %v", err)
	}

	// Another CA: the API server's certificate is not trusted.
	other := write("otherca", "    token: "+cs.token+"\n")
	b, _ := os.ReadFile(other)
	os.WriteFile(other, []byte(strings.Replace(string(b), base64.StdEncoding.EncodeToString(ca), base64.StdEncoding.EncodeToString(otherCA(t)), 1)), 0o600)
	if err := reach(other); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("with another CA: %v, want a certificate error", err)
	}

	for _, tc := range []struct{ name, user, want string }{
		{"exec", "    exec:\n      command: gke-gcloud-auth-plugin\n", "give it a token"},
		{"none", "    username: x\n", "neither a token nor a client certificate"},
	} {
		_, err := LoadKubeconfig(write(tc.name, tc.user))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := LoadKubeconfig(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing kubeconfig loaded")
	}
}

// otherCA returns a certificate authority no API server here uses (PEM).
func otherCA(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
