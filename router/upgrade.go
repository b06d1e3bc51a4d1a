package router

import (
	"io"
	"net/http"
	"sync"
	"sync/atomic"
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
		f.acc.status, f.acc.sent, f.acc.fault = http.StatusBadGateway, int64(writeBadGateway(w, "")), faultBadGateway
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
	f.acc.status = http.StatusSwitchingProtocols
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
	toClient := &countingConn{w: client}
	go func() {
		io.Copy(toClient, up)
		end()
	}()
	<-done // either side's end is both's: the deferred closes unblock the other copy
	// The app's bytes to the client, for the access line: all of them, but
	// for what the copy still writes while the connections close.
	f.acc.sent = toClient.n.Load()
}

// countingConn counts the bytes written to w, for a reader in another
// goroutine.
type countingConn struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
