package kubetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// kubeletServer is the part of kubelet's HTTPS API the API server uses
// for `GET .../pods/NAME/log` (/containerLogs/NS/POD/CONTAINER, with
// tailLines, follow, and timestamps and sinceTime: logstamp.go) and
// `.../pods/NAME/attach` (/attach/NS/POD/CONTAINER, attach.go). It serves on the node's 127.0.0.1, with a self-signed
// certificate (the API server checks none unless told
// --kubelet-certificate-authority) and asks no client certificate: it is
// a test's, on loopback.
type kubeletServer struct {
	srv  *http.Server
	port int
	stop chan struct{} // ends the stamps' sweep
}

func startKubeletServer(n *Node) (*kubeletServer, error) {
	cert, err := selfSigned()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	stamps := newLineStamps()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /containerLogs/{ns}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		ns, pod, name := r.PathValue("ns"), r.PathValue("pod"), r.PathValue("container")
		files := n.logFiles(ns, pod, name)
		if len(files) == 0 {
			http.Error(w, "no such container on this node", http.StatusNotFound)
			return
		}
		// What runs now, before the file is read: a follow ends when all
		// it wrote is in the file.
		var written <-chan struct{}
		if c := n.container(ns, pod, name); c != nil {
			written = c.written()
		}
		if q := r.URL.Query(); q.Get("timestamps") == "true" || q.Get("sinceTime") != "" || q.Get("sinceSeconds") != "" {
			stamps.serve(w, r, files[0], written)
			return
		}
		data, err := os.ReadFile(files[0])
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		offset := int64(len(data))
		if s := r.URL.Query().Get("tailLines"); s != "" {
			if k, err := strconv.Atoi(s); err == nil && k >= 0 {
				lines := strings.SplitAfter(string(data), "\n")
				if lines[len(lines)-1] == "" {
					lines = lines[:len(lines)-1]
				}
				data = []byte(strings.Join(lines[max(0, len(lines)-k):], ""))
			}
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write(data)
		if r.URL.Query().Get("follow") != "true" || written == nil {
			return
		}
		follow(w, r, files[0], offset, written)
	})
	// An attach's connection is upgraded (hijacked): the API server asks
	// for HTTP/1.1 then, never HTTP/2.
	mux.HandleFunc("GET /attach/{ns}/{pod}/{container}", n.serveAttach)
	mux.HandleFunc("POST /attach/{ns}/{pod}/{container}", n.serveAttach)
	s := &kubeletServer{port: l.Addr().(*net.TCPAddr).Port, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}, stop: make(chan struct{})}
	go stamps.sweep(s.stop, func() []string { return n.logFiles("*", "*", "") })
	go s.srv.ServeTLS(l, "", "")
	return s, nil
}

// follow copies what is appended to the log file from offset on, until
// written is closed (all the container wrote is in the file) or the
// client goes.
func follow(w http.ResponseWriter, r *http.Request, file string, offset int64, written <-chan struct{}) {
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer f.Close()
	untilWritten(w, r, written, func() bool {
		n, _ := io.Copy(w, io.NewSectionReader(f, offset, 1<<62))
		offset += n
		return n > 0
	})
}

// untilWritten calls copyNew every 100 ms, flushing what it wrote, until
// written is closed (a last call then takes what came before) or the
// client goes: a follow's loop.
func untilWritten(w http.ResponseWriter, r *http.Request, written <-chan struct{}, copyNew func() bool) {
	rc := http.NewResponseController(w)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ended := false
		select {
		case <-written:
			ended = true
		default:
		}
		if copyNew() {
			rc.Flush()
		}
		if ended {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-written:
		case <-tick.C:
		}
	}
}

func (s *kubeletServer) close() {
	close(s.stop)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

// selfSigned is a certificate for 127.0.0.1, valid for a day.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubetest-node"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
