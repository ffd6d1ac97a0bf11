//go:build !linux

package bench

import (
	"errors"
	"os/exec"
	"time"
)

var errNotLinux = errors.New("bench: CPU accounting needs Linux")

func selfCPU() (time.Duration, error) { return 0, errNotLinux }

func threadID() int { return 0 }

func detach(cmd *exec.Cmd) {}
