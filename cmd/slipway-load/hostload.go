package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sampling of the CPU that other processes on the machine use while the
// load runs: on a small machine a compiler or a test suite elsewhere
// shows up as latency, and the report must say so rather than blame the
// deploy.
const (
	sampleEvery = 250 * time.Millisecond
	clockTicks  = 100 // USER_HZ: the unit of /proc/PID/stat times on Linux
)

// otherCPU samples /proc and keeps, per second since its start, the CPU
// time used by processes that are not this one or its descendants.
// Processes that start and end between two samples are missed, so it
// errs low.
type otherCPU struct {
	start time.Time
	self  int
	done  chan struct{}
	ours  map[int]bool // every pid seen in this process's tree, sampler only

	mu      sync.Mutex
	perSec  []float64 // CPU-seconds per second of the run
	total   float64
	elapsed time.Duration
}

// watchOtherCPU starts sampling until ctx is done; read it after that
// with fraction and second. It samples nothing where there is no /proc.
func watchOtherCPU(ctx context.Context, start time.Time) *otherCPU {
	o := &otherCPU{start: start, self: os.Getpid(), done: make(chan struct{}), ours: map[int]bool{}}
	go o.loop(ctx)
	return o
}

func (o *otherCPU) loop(ctx context.Context) {
	defer close(o.done)
	prev, ok := o.sample()
	if !ok {
		return
	}
	last := time.Now()
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur, ok := o.sample()
		if !ok {
			return
		}
		now := time.Now()
		used := 0.0
		for pid, ticks := range cur {
			if d := ticks - prev[pid]; d > 0 { // a new pid counts from zero
				used += float64(d) / clockTicks
			}
		}
		prev = cur
		o.mu.Lock()
		i := max(0, int(now.Sub(o.start)/time.Second))
		for len(o.perSec) <= i {
			o.perSec = append(o.perSec, 0)
		}
		o.perSec[i] += used
		o.total += used
		o.elapsed += now.Sub(last)
		o.mu.Unlock()
		last = now
	}
}

// sample returns the user+system ticks of every process outside this
// process's tree.
func (o *otherCPU) sample() (map[int]int64, bool) {
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(paths) == 0 {
		return nil, false
	}
	parent := map[int]int{}
	ticks := map[int]int64{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // it exited
		}
		pid, ppid, t, ok := parseStat(string(data))
		if ok {
			parent[pid], ticks[pid] = ppid, t
		}
	}
	for pid := range ticks {
		// A process of ours stays ours when it outlives its parent and
		// moves to init, as git's background maintenance does.
		if o.ours[pid] || o.inTree(pid, parent) {
			o.ours[pid] = true
			delete(ticks, pid)
		}
	}
	return ticks, true
}

// inTree reports whether pid is this process or one of its descendants.
func (o *otherCPU) inTree(pid int, parent map[int]int) bool {
	for range 64 { // deeper than any real process tree
		if pid == o.self {
			return true
		}
		p, ok := parent[pid]
		if !ok || p <= 1 {
			return false
		}
		pid = p
	}
	return false
}

// parseStat reads pid, ppid and utime+stime from a /proc/PID/stat line,
// whose second field, the command name in parentheses, may hold spaces.
func parseStat(line string) (pid, ppid int, ticks int64, ok bool) {
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return 0, 0, 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return 0, 0, 0, false
	}
	f := strings.Fields(line[end+1:]) // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
	if len(f) < 13 {
		return 0, 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	utime, err2 := strconv.ParseInt(f[11], 10, 64)
	stime, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, false
	}
	return pid, ppid, utime + stime, true
}

// fraction returns the share of the machine's CPU capacity that other
// processes used over the whole run. Call it after ctx is done.
func (o *otherCPU) fraction() float64 {
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.elapsed <= 0 {
		return 0
	}
	return o.total / (o.elapsed.Seconds() * float64(runtime.NumCPU()))
}

// second returns the share of CPU capacity other processes used in second
// i of the run. Call it after ctx is done.
func (o *otherCPU) second(i int) float64 {
	<-o.done
	o.mu.Lock()
	defer o.mu.Unlock()
	if i >= len(o.perSec) {
		return 0
	}
	return o.perSec[i] / float64(runtime.NumCPU())
}
