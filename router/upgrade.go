package router

import (
	"io"
	"net/http"
	"sync"
)

// Upgrades (websockets) are where the one proxy path branches off: once
// the app answers an upgrade with 101 Switching Protocols, neither
// connection carries HTTP any more, and the router relays bytes both ways
// until either side closes, as ReverseProxy does.

// upgraded is the body of a 101 response: the connection to the instance,
// what it read past the response's head first.
type upgraded struct{ c *conn }

func (u *upgraded) Read(p []byte) (int, error)  { return u.c.br.Read(p) }
func (u *upgraded) Write(p []byte) (int, error) { return u.c.nc.Write(p) }
func (u *upgraded) Close() error                { return u.c.nc.Close() }

// tunnel sends the app's 101 to the client, with the router's own headers
// (the affinity cookie), and relays the two connections to each other.
func (f *forwarded) tunnel(res *http.Response, r *Router) {
	up := res.Body.(*upgraded)
	defer up.Close()
	w, _ := f.writer()
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		r.log.Warn("router: cannot take over the client's connection for an upgrade", "app", f.req.Host, "err", err)
		writeBadGateway(w, "")
		return
	}
	defer client.Close()
	h := w.Header().Clone()
	dropped := connectionTokens(res.Header["Connection"])
	for k, vv := range res.Header {
		if hopByHop(k) || (dropped != nil && listed(dropped, k)) {
			continue
		}
		h[k] = append(h[k], vv...)
	}
	h["Connection"] = []string{"Upgrade"}
	h["Upgrade"] = res.Header["Upgrade"]
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	h.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	var once sync.Once
	done := make(chan struct{})
	end := func() { once.Do(func() { close(done) }) }
	go func() {
		io.Copy(up, brw.Reader) // the client's bytes, those it sent early first
		end()
	}()
	go func() {
		io.Copy(client, up)
		end()
	}()
	<-done // either side's end is both's: the deferred closes unblock the other copy
}
