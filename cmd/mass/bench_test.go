package main

import (
	"strings"
	"testing"
)

// TestFlagsRefused: the sale bench's flags and mass start's stamping
// bucket are checked before anything starts, with errors that name them.
func TestFlagsRefused(t *testing.T) {
	for _, c := range []struct {
		run  func([]string) error
		args []string
		want string
	}{
		{runStart, []string{"--home", t.TempDir(), "--stamp-rate", "-1"}, "--stamp-rate"},
		{runStart, []string{"--home", t.TempDir(), "--stamp-rate", "NaN"}, "--stamp-rate"},
		{runStart, []string{"--home", t.TempDir(), "--stamp-burst", "-5"}, "--stamp-burst"},
		{runBench, []string{"--payload", "sale", "--buyers", "100001"}, "buyers"},
		{runBench, []string{"--payload", "sale", "--transport", "mem"}, "inproc or p2p"},
		{runBench, []string{"--payload", "sale", "--rate", "10"}, "--rate"},
		{runBench, []string{"--payload", "sale", "--buyers", "10", "--supply", "11"}, "supply"},
		{runBench, []string{"--payload", "raw", "--buyers", "10"}, "sale payload only"},
		{runBenchSweep, []string{"--payload", "sale"}, "sale payload"},
	} {
		err := c.run(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an error naming %q", c.args, err, c.want)
		}
	}
}
