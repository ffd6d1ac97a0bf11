package bench

import (
	"os/exec"
	"syscall"
	"time"
)

// selfCPU is the user and system CPU time of this process, all threads.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// threadID is the calling thread's id (the goroutine must be locked to it).
func threadID() int { return syscall.Gettid() }

// detach puts a child in its own process group (a Ctrl-C at the terminal
// reaches the bench, which stops the nodes in order) and has the kernel
// kill it if the bench dies without stopping it. The parent-death signal
// follows the thread that started the child: no goroutine of this package
// exits while locked to its thread, so that thread lives on.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
