package router

import (
	"fmt"
	"net/http"
	"strings"
)

// The corpus of TestRouter_AsSafeAsNginx: client byte streams, each
// followed by endStream, and app scripts, each tried with
// streamsForScripts. A request's path is the tag its answer carries.

// endStream ends every client stream: a request that closes the
// connection, so that a proxy that followed the stream answers it and
// closes.
const endStream = "GET /end HTTP/1.1\r\nHost: cxxx.apps.test\r\nConnection: close\r\n\r\n"

const host = "Host: cxxx.apps.test\r\n"

// smuggle is a request hidden in a body.
const smuggle = "GET /smuggled HTTP/1.1\r\n" + host + "\r\n"

// request is a request line, Host, extra header lines and body.
func request(method, path, header, body string) string {
	return method + " " + path + " HTTP/1.1\r\n" + host + header + "\r\n" + body
}

// withLength is a request with a Content-Length for body.
func withLength(method, path, body string) string {
	return request(method, path, fmt.Sprintf("Content-Length: %d\r\n", len(body)), body)
}

// chunk is body as one chunk and the last chunk.
func chunk(body string) string {
	return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
}

type clientStream struct{ name, stream string }

var clientStreams = func() []clientStream {
	var s []clientStream
	add := func(name, stream string) { s = append(s, clientStream{name, stream}) }

	// Methods without a body.
	for _, m := range []string{"GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "PATCH", "PUT", "POST"} {
		add(m+" without body", request(m, "/m", "", ""))
	}
	add("POST with Content-Length 0", request("POST", "/p", "Content-Length: 0\r\n", ""))

	// Bodies of known length.
	for _, n := range []int{1, 100, 4096, 70000} {
		add(fmt.Sprintf("POST %d bytes", n), withLength("POST", "/p", strings.Repeat("b", n)))
	}
	for _, m := range []string{"GET", "HEAD", "DELETE", "OPTIONS", "PUT", "POST"} {
		add(m+" with a smuggled request in its body", withLength(m, "/a", smuggle))
	}

	// Chunked bodies.
	add("chunked", request("POST", "/c", "Transfer-Encoding: chunked\r\n", chunk("abc")))
	add("chunked, two chunks", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"))
	add("chunked with extension", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "3;name=value\r\nabc\r\n0\r\n\r\n"))
	add("chunked with trailer", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"))
	add("chunked, empty", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "0\r\n\r\n"))
	add("chunked, upper-case size", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "A\r\n0123456789\r\n0\r\n\r\n"))
	add("chunked, size with leading zeros", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "0003\r\nabc\r\n0\r\n\r\n"))
	add("chunked, bare LF", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "3\nabc\n0\n\n"))
	add("chunked, bad size", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "g\r\nabc\r\n0\r\n\r\n"))
	add("chunked, negative size", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "-3\r\nabc\r\n0\r\n\r\n"))
	add("chunked, size overflow", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "fffffffffffffffff3\r\nabc\r\n0\r\n\r\n"))
	add("chunked, data longer than its size", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "3\r\nabcdef\r\n0\r\n\r\n"))
	add("chunked, smuggled request in a chunk", request("GET", "/a", "Transfer-Encoding: chunked\r\n", chunk(smuggle)))
	add("chunked, size with spaces", request("POST", "/c", "Transfer-Encoding: chunked\r\n", "3 \r\nabc\r\n0\r\n\r\n"))

	// Content-Length as attackers write it, each with a smuggled request
	// after what a lenient parser takes for the body.
	for _, cl := range []string{"+5", "05", " 5", "5 ", "5,5", "5, 5", "5,6", "0x5", "-1", "5.0", "99999999999999999999", "", "5\x00", "٥"} {
		add(fmt.Sprintf("Content-Length %q", cl), request("POST", "/a", "Content-Length: "+cl+"\r\n", "hello"+smuggle))
	}
	add("two equal Content-Lengths", request("POST", "/a", "Content-Length: 5\r\nContent-Length: 5\r\n", "hello"+smuggle))
	add("two different Content-Lengths", request("POST", "/a", "Content-Length: 5\r\nContent-Length: 0\r\n", "hello"+smuggle))

	// Transfer-Encoding as attackers write it: alone, and with a
	// Content-Length that ends the body elsewhere.
	teHeaders := map[string]string{
		"chunked":                "Transfer-Encoding: chunked\r\n",
		"Chunked":                "Transfer-Encoding: Chunked\r\n",
		"CHUNKED":                "Transfer-Encoding: CHUNKED\r\n",
		"leading space":          "Transfer-Encoding:  chunked\r\n",
		"trailing space":         "Transfer-Encoding: chunked \r\n",
		"tab":                    "Transfer-Encoding:\tchunked\r\n",
		"identity, chunked":      "Transfer-Encoding: identity, chunked\r\n",
		"chunked, identity":      "Transfer-Encoding: chunked, identity\r\n",
		"identity":               "Transfer-Encoding: identity\r\n",
		"gzip, chunked":          "Transfer-Encoding: gzip, chunked\r\n",
		"chunked, chunked":       "Transfer-Encoding: chunked, chunked\r\n",
		"xchunked":               "Transfer-Encoding: xchunked\r\n",
		"chunked-false":          "Transfer-Encoding: chunked-false\r\n",
		"quoted":                 "Transfer-Encoding: \"chunked\"\r\n",
		"with parameter":         "Transfer-Encoding: chunked;q=1\r\n",
		"space before the colon": "Transfer-Encoding : chunked\r\n",
		"tab before the colon":   "Transfer-Encoding\t: chunked\r\n",
		"underscore name":        "Transfer_Encoding: chunked\r\n",
		"folded value":           "Transfer-Encoding:\r\n chunked\r\n",
		"folded after another":   "X-A: b\r\n Transfer-Encoding: chunked\r\n",
		"two headers":            "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
		"two chunked headers":    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
		"vertical tab":           "Transfer-Encoding:\x0bchunked\r\n",
		"NUL":                    "Transfer-Encoding: chunked\x00\r\n",
		"lower-case name":        "transfer-encoding: chunked\r\n",
	}
	for name, te := range teHeaders {
		add("TE "+name, request("POST", "/a", te, chunk("abc")+smuggle))
		add("TE "+name+" with Content-Length", request("POST", "/a", te+"Content-Length: 4\r\n", "0\r\n\r\n"+smuggle))
	}

	// Versions.
	add("HTTP/1.0", "GET /old HTTP/1.0\r\n"+host+"\r\n")
	add("HTTP/1.0 keep-alive", "GET /old HTTP/1.0\r\n"+host+"Connection: keep-alive\r\n\r\n")
	add("HTTP/1.0 with TE", "POST /old HTTP/1.0\r\n"+host+"Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"+chunk(smuggle))
	add("HTTP/1.0 with a body", "POST /old HTTP/1.0\r\n"+host+"Connection: keep-alive\r\nContent-Length: 3\r\n\r\nabc")
	add("HTTP/0.9", "GET /nine\r\n")
	add("HTTP/1.2", "GET /v HTTP/1.2\r\n"+host+"\r\n")
	add("HTTP/2.0 text", "GET /v HTTP/2.0\r\n"+host+"\r\n")
	add("HTTP/1.10", "GET /v HTTP/1.10\r\n"+host+"\r\n")
	add("lower-case version", "GET /v http/1.1\r\n"+host+"\r\n")
	add("no version", "GET /v\r\n"+host+"\r\n")

	// Lines.
	add("bare LF", "GET /lf HTTP/1.1\n"+strings.TrimSuffix(host, "\r\n")+"\nX-A: b\n\n")
	add("bare CR", "GET /cr HTTP/1.1\r"+host+"\r\n")
	add("CR in a value", request("GET", "/v", "X-A: b\rX-B: c\r\n", ""))
	add("NUL in a value", request("GET", "/v", "X-A: b\x00c\r\n", ""))
	add("line without colon", request("GET", "/v", "X-A b\r\n", ""))
	add("empty name", request("GET", "/v", ": b\r\n", ""))
	add("space in name", request("GET", "/v", "X A: b\r\n", ""))
	add("bad character in name", request("GET", "/v", "X@A: b\r\n", ""))
	add("folded header", request("GET", "/v", "X-A: b\r\n c\r\n", ""))
	add("long header", request("GET", "/v", "X-A: "+strings.Repeat("a", 7000)+"\r\n", ""))
	add("header too large", request("GET", "/v", "X-A: "+strings.Repeat("a", 20000)+"\r\n", ""))
	add("many headers", request("GET", "/v", strings.Repeat("X-A: b\r\n", 150), ""))
	add("blank lines before the request", "\r\n\r\n"+request("GET", "/v", "", ""))
	add("space before the request line", " "+request("GET", "/v", "", ""))

	// Hosts.
	add("no Host", "GET /h HTTP/1.1\r\n\r\n")
	add("two Hosts", "GET /h HTTP/1.1\r\n"+host+host+"\r\n")
	add("Host with port", "GET /h HTTP/1.1\r\nHost: cxxx.apps.test:80\r\n\r\n")
	add("Host with user", "GET /h HTTP/1.1\r\nHost: a@cxxx.apps.test\r\n\r\n")
	add("Host with trailing dot", "GET /h HTTP/1.1\r\nHost: cxxx.apps.test.\r\n\r\n")
	add("Host upper-case", "GET /h HTTP/1.1\r\nHost: WEB.APPS.TEST\r\n\r\n")
	add("empty Host", "GET /h HTTP/1.1\r\nHost:\r\n\r\n")
	add("absolute form", "GET http://cxxx.apps.test/abs HTTP/1.1\r\n"+host+"\r\n")
	add("absolute form, other host", "GET http://other.test/abs HTTP/1.1\r\n"+host+"\r\n")

	// Targets.
	add("OPTIONS *", "OPTIONS * HTTP/1.1\r\n"+host+"\r\n")
	add("CONNECT", "CONNECT cxxx.apps.test:443 HTTP/1.1\r\n"+host+"\r\n")
	add("dot segments", request("GET", "/a/../b", "", ""))
	add("encoded dot segments", request("GET", "/a/%2e%2e/b", "", ""))
	add("encoded slash", request("GET", "/a%2Fb", "", ""))
	add("fragment", request("GET", "/f#frag", "", ""))
	add("two spaces", "GET  /s HTTP/1.1\r\n"+host+"\r\n")
	add("space in target", "GET /s t HTTP/1.1\r\n"+host+"\r\n")
	add("backslash", request("GET", "/a\\b", "", ""))
	add("non-ASCII", request("GET", "/caf\xc3\xa9", "", ""))
	add("double slash", request("GET", "//d", "", ""))
	add("long target", request("GET", "/"+strings.Repeat("l", 9000), "", ""))
	add("query", request("GET", "/q?a=1&b=%20&c", "", ""))
	add("bad escape", request("GET", "/q%zz", "", ""))

	// Pipelining.
	add("two GETs", request("GET", "/p1", "", "")+request("GET", "/p2", "", ""))
	add("GET then POST", request("GET", "/p1", "", "")+withLength("POST", "/p2", "abc"))
	add("POST then GET", withLength("POST", "/p1", "abc")+request("GET", "/p2", "", ""))
	add("chunked then GET", request("POST", "/p1", "Transfer-Encoding: chunked\r\n", chunk("abc"))+request("GET", "/p2", "", ""))
	add("three mixed", request("HEAD", "/p1", "", "")+withLength("PUT", "/p2", "x")+request("DELETE", "/p3", "", ""))
	add("HEAD then GET", request("HEAD", "/p1", "", "")+request("GET", "/p2", "", ""))
	add("after Connection: close", request("GET", "/p1", "Connection: close\r\n", "")+request("GET", "/p2", "", ""))
	add("after a refused request", request("POST", "/p1", "Content-Length: 1\r\nContent-Length: 2\r\n", "ab")+request("GET", "/p2", "", ""))

	// Expect.
	add("Expect 100-continue", request("POST", "/e", "Expect: 100-continue\r\nContent-Length: 3\r\n", "abc"))
	add("Expect 100-continue, chunked", request("POST", "/e", "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n", chunk("abc")))
	add("Expect other", request("POST", "/e", "Expect: 100-continuex\r\nContent-Length: 3\r\n", "abc"))

	// Upgrades.
	add("websocket upgrade", request("GET", "/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""))
	add("h2c upgrade", request("GET", "/h2c", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n", ""))
	add("upgrade without Upgrade", request("GET", "/u", "Connection: upgrade\r\n", ""))
	add("h2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

	// What the edge cleans.
	add("client forwarding headers", request("GET", "/x", "X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nForwarded: for=6.6.6.6\r\n", ""))
	add("underscore names", request("GET", "/x", "X_Forwarded_For: 6.6.6.6\r\nTrue_Client_IP: 6.6.6.6\r\n", ""))
	add("Connection lists headers", request("GET", "/x", "Connection: X-A, Cookie\r\nX-A: b\r\nCookie: c=d\r\n", ""))
	add("Proxy-Connection", request("GET", "/x", "Proxy-Connection: keep-alive\r\n", ""))
	add("TE trailers", request("GET", "/x", "TE: trailers\r\n", ""))

	// Cut short: the proxy waits for the rest, or gives up.
	add("body shorter than its length", request("POST", "/short", "Content-Length: 100\r\n", "abc"))
	add("head cut short", "GET /cut HTTP/1.1\r\nHost: web.ap")
	return s
}()

// streamsForScripts are the client streams each app script is tried with.
var streamsForScripts = []clientStream{
	{"GET", request("GET", "/s1", "", "")},
	{"HEAD", request("HEAD", "/s1", "", "")},
	{"POST", withLength("POST", "/s1", "abc")},
	{"GET with a smuggled request", withLength("GET", "/s1", smuggle)},
	{"two GETs", request("GET", "/s1", "", "") + request("GET", "/s2", "", "")},
}

// respond is a response with header lines and body, its Content-Length
// set to the body's, the head alone for HEAD.
func respond(req *http.Request, status, header, body string) string {
	head := fmt.Sprintf("HTTP/1.1 %s\r\n%sContent-Length: %d\r\n\r\n", status, header, len(body))
	if req.Method == http.MethodHead {
		return head
	}
	return head + body
}

// tag is an answer's body naming the request it answers.
func tag(path string) string { return "<<" + path + ">>" }

var wellBehaved = appScript{name: "well-behaved", answer: func(req *http.Request, path string) (string, bool) {
	return respond(req, "200 OK", "Content-Type: text/plain\r\n", tag(path)), false
}}

// fixed is a script that answers every request with out (where %s is the
// tag), closing after it if close.
func fixed(name, out string, close bool) appScript {
	return appScript{name: name, answer: func(req *http.Request, path string) (string, bool) {
		return strings.ReplaceAll(out, "%s", tag(path)), close
	}}
}

// appScripts are the apps, well-behaved and not, each answering every
// request it reads the same way.
var appScripts = []appScript{
	wellBehaved,
	{name: "no content", answer: func(req *http.Request, path string) (string, bool) {
		return "HTTP/1.1 204 No Content\r\nX-Tag: " + tag(path) + "\r\n\r\n", false
	}},
	{name: "not modified", answer: func(req *http.Request, path string) (string, bool) {
		return "HTTP/1.1 304 Not Modified\r\nEtag: \"" + tag(path) + "\"\r\n\r\n", false
	}},
	{name: "chunked", answer: func(req *http.Request, path string) (string, bool) {
		if req.Method == http.MethodHead {
			return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false
		}
		return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(tag(path)), false
	}},
	{name: "chunked with trailer", answer: func(req *http.Request, path string) (string, bool) {
		if req.Method == http.MethodHead {
			return "HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n", false
		}
		t := tag(path)
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\nX-Sum: 1\r\n\r\n", len(t), t), false
	}},
	fixed("close delimited", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%s", true),
	fixed("HTTP/1.0 without length", "HTTP/1.0 200 OK\r\n\r\n%s", true),
	{name: "HTTP/1.0 keep-alive", answer: func(req *http.Request, path string) (string, bool) {
		return strings.Replace(respond(req, "200 OK", "Connection: keep-alive\r\n", tag(path)), "HTTP/1.1", "HTTP/1.0", 1), false
	}},
	{name: "100 Continue first", answer: func(req *http.Request, path string) (string, bool) {
		return "HTTP/1.1 100 Continue\r\n\r\n" + respond(req, "200 OK", "", tag(path)), false
	}},
	{name: "103 Early Hints first", answer: func(req *http.Request, path string) (string, bool) {
		return "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n" + respond(req, "200 OK", "", tag(path)), false
	}},
	{name: "two interim responses", answer: func(req *http.Request, path string) (string, bool) {
		return "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + respond(req, "200 OK", "", tag(path)), false
	}},
	{name: "101 to a plain request", answer: func(req *http.Request, path string) (string, bool) {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + tag(path), false
	}},
	{name: "a second whole response", answer: func(req *http.Request, path string) (string, bool) {
		return respond(req, "200 OK", "", tag(path)) + "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n<<unsolicited>>", false
	}},
	{name: "bytes past the length", answer: func(req *http.Request, path string) (string, bool) {
		return respond(req, "200 OK", "", tag(path)) + "garbage<<garbage>>", false
	}},
	{name: "body shorter than its length, then close", answer: func(req *http.Request, path string) (string, bool) {
		return "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + tag(path), true
	}},
	{name: "body longer than its length", answer: func(req *http.Request, path string) (string, bool) {
		t := tag(path)
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s<<overrun>>", len(t), t), false
	}},
	{name: "Content-Length and chunked", answer: func(req *http.Request, path string) (string, bool) {
		t := tag(path)
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(t), t), false
	}},
	{name: "two different lengths", answer: func(req *http.Request, path string) (string, bool) {
		t := tag(path)
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: 2\r\n\r\n%s", len(t), t), false
	}},
	{name: "two equal lengths", answer: func(req *http.Request, path string) (string, bool) {
		t := tag(path)
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: %[1]d\r\n\r\n%s", len(t), t), false
	}},
	fixed("negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n%s", false),
	fixed("length with a sign", "HTTP/1.1 200 OK\r\nContent-Length: +9\r\n\r\n%s", false),
	{name: "bare LF", answer: func(req *http.Request, path string) (string, bool) {
		return strings.ReplaceAll(respond(req, "200 OK", "X-A: b\r\n", tag(path)), "\r\n", "\n"), false
	}},
	{name: "body to HEAD", answer: func(req *http.Request, path string) (string, bool) {
		t := tag(path)
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(t), t), false
	}},
	{name: "body on 204", answer: func(req *http.Request, path string) (string, bool) {
		return "HTTP/1.1 204 No Content\r\n\r\n" + tag(path), false
	}},
	{name: "body on 304", answer: func(req *http.Request, path string) (string, bool) {
		t := tag(path)
		return fmt.Sprintf("HTTP/1.1 304 Not Modified\r\nContent-Length: %d\r\n\r\n%s", len(t), t), false
	}},
	{name: "folded header", answer: func(req *http.Request, path string) (string, bool) {
		return respond(req, "200 OK", "X-A: b\r\n c\r\n", tag(path)), false
	}},
	{name: "header without colon", answer: func(req *http.Request, path string) (string, bool) {
		return respond(req, "200 OK", "X-A b\r\n", tag(path)), false
	}},
	fixed("bad status line", "HTTP/1.1 abc\r\nContent-Length: 6\r\n\r\n%s", false),
	fixed("not HTTP", "hello %s\r\n\r\n", true),
	{name: "large header", answer: func(req *http.Request, path string) (string, bool) {
		return respond(req, "200 OK", "X-Large: "+strings.Repeat("l", 100<<10)+"\r\n", tag(path)), false
	}},
	{name: "Connection: close, then more", answer: func(req *http.Request, path string) (string, bool) {
		return respond(req, "200 OK", "Connection: close\r\n", tag(path)) + "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n<<unsolicited>>", true
	}},
	fixed("identity encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n%s", true),
	fixed("bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n%s\r\n0\r\n\r\n", false),
	fixed("gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n%s", false),
	{name: "ignores bodies", ignoresBody: true, answer: wellBehaved.answer},
	{name: "session cookie", answer: func(req *http.Request, path string) (string, bool) {
		return respond(req, "200 OK", "Set-Cookie: session="+tag(path)+"; HttpOnly\r\nCache-Control: private\r\n", tag(path)), false
	}},
	{name: "NUL in a header", answer: func(req *http.Request, path string) (string, bool) {
		return respond(req, "200 OK", "X-A: b\x00c\r\n", tag(path)), false
	}},
}
