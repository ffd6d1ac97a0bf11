package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Machine describes where a run happened.
type Machine struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	CPUModel  string `json:"cpu_model,omitempty"`
	NumCPU    int    `json:"num_cpu"`
	GoVersion string `json:"go_version"`
	// Revision is the git commit of the source, "+dirty" when it had
	// uncommitted changes.
	Revision string `json:"git_revision,omitempty"`
}

// ThisMachine describes this machine and build.
func ThisMachine() Machine {
	m := Machine{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, NumCPU: runtime.NumCPU(), GoVersion: runtime.Version()}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		m.CPUModel = parseCPUModel(raw)
	}
	m.Revision = revision()
	return m
}

// revision is the build's VCS stamp, or what git says of the working
// directory.
func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev string
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if dirty {
				rev += "+dirty"
			}
			return rev
		}
	}
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	rev := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(st) > 0 {
		rev += "+dirty"
	}
	return rev
}

// Report is one run: what was run, where, and the figures.
type Report struct {
	Config  Config    `json:"config"`
	Machine Machine   `json:"machine"`
	Started time.Time `json:"started"`
	Result  Result    `json:"result"`
	// Saturated is set by a sweep: the run saturated the network, and why.
	Saturated bool   `json:"saturated,omitempty"`
	Reason    string `json:"saturation_reason,omitempty"`
}

// SweepReport is a series of runs.
type SweepReport struct {
	Machine Machine  `json:"machine"`
	Runs    []Report `json:"runs"`
}

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeFile writes a file through fn, atomically enough for results: to a
// temporary name, then renamed.
func writeFile(path string, fn func(io.Writer) error) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := fn(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// csvHeader are the columns of WriteCSV.
var csvHeader = []string{
	"nodes", "payload", "transport", "agreement", "tx_size", "rate", "duration_s",
	"offered_tps", "committed_tps", "p50_ms", "p90_ms", "p99_ms", "unfinished",
	"cpu_s_per_1000_txs", "cores_busy", "bytes_per_tx", "msgs_per_node_per_epoch", "peak_mem_mib", "saturated", "reason",
}

// WriteCSV writes one row per run.
func WriteCSV(w io.Writer, runs []Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, r := range runs {
		c, res := r.Config, r.Result
		row := []string{
			strconv.Itoa(c.Nodes), c.Payload, c.Transport, c.Agreement, strconv.Itoa(c.TxSize), formatFloat(c.Rate), formatFloat(res.Window),
			formatFloat(res.OfferedTPS), formatFloat(res.CommittedTPS),
			formatFloat(res.Latency.P50), formatFloat(res.Latency.P90), formatFloat(res.Latency.P99), strconv.FormatUint(res.Latency.Unfinished, 10),
			formatFloat(res.CPU.Per1000Txs), formatFloat(res.CPU.Utilization), formatFloat(res.BytesPerTx), formatFloat(res.Consensus.MessagesPerEpoch),
			formatFloat(float64(res.Memory.MaxPeak()) / (1 << 20)), strconv.FormatBool(r.Saturated), r.Reason,
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// formatFloat writes a figure with up to three decimals, no trailing zeros.
func formatFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// consensusLine says what the nodes handled per epoch.
func consensusLine(n int, k Consensus) string {
	if k.MessagesPerEpoch == 0 {
		return fmt.Sprintf("no epoch ended in the window (%s messages handled per node)", grouped(k.Messages))
	}
	return fmt.Sprintf("%s messages handled per node per epoch (n² = %d; %s epochs per node in the window)",
		grouped(k.MessagesPerEpoch), n*n, grouped(k.Epochs))
}

// grouped writes v rounded to a whole number, its thousands separated by
// commas: 1,234.
func grouped(v float64) string {
	s := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	if math.Round(v) < 0 {
		b.WriteByte('-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Summary writes a run's figures for people.
func Summary(w io.Writer, r Report) {
	if r.Result.Sale != nil {
		saleSummary(w, r)
		return
	}
	c, res := r.Config, r.Result
	loop := "closed loop"
	if c.Rate > 0 {
		loop = fmt.Sprintf("open loop at %s tx/s", formatFloat(c.Rate))
	}
	agreement := ""
	if c.Agreement != "" {
		agreement = c.Agreement + " agreement, "
	}
	fmt.Fprintf(w, "\n%d nodes, %s payload (%.0f bytes/tx), %s transport, %s%s, %.1f s window\n",
		c.Nodes, c.Payload, res.MeanTxBytes, c.Transport, agreement, loop, res.Window)
	fmt.Fprintf(w, "  committed      %d txs, %.0f tx/s (offered %.0f tx/s; %d shed, %d rejected, %d failed in block)\n",
		res.CommittedTxs, res.CommittedTPS, res.OfferedTPS, res.Shed, res.Rejected, res.FailedInBlock)
	l := res.Latency
	fmt.Fprintf(w, "  latency        p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms (%d txs, all tracked; %d unfinished)\n",
		l.P50, l.P90, l.P99, l.Max, l.Samples, l.Unfinished)
	fmt.Fprintf(w, "  CPU            %.3f s per 1,000 txs, %.2f cores busy (%s); load generator %.1f s\n",
		res.CPU.Per1000Txs, res.CPU.Utilization, res.CPU.Scope, res.CPU.LoadGenerator)
	fmt.Fprintf(w, "  bytes sent     %.0f per tx (%d in the window, all nodes)\n", res.BytesPerTx, res.BytesSent)
	fmt.Fprintf(w, "  consensus      %s\n", consensusLine(c.Nodes, res.Consensus))
	if k := res.Keys; k.ReadyAfter > 0 {
		fmt.Fprintf(w, "  keys           at every node %.1f s after the nodes were launched, block %d, %d parts; %d bytes of key transactions\n",
			k.ReadyAfter, k.Block, k.Parts, k.Bytes)
	} else {
		fmt.Fprintf(w, "  keys           not at every node by the end of the run\n")
	}
	if len(res.Memory.PerNode) > 0 {
		var mib []string
		for _, b := range res.Memory.PerNode {
			mib = append(mib, fmt.Sprintf("%.0f", float64(b)/(1<<20)))
		}
		fmt.Fprintf(w, "  peak memory    %s MiB per node\n", strings.Join(mib, ", "))
	} else {
		fmt.Fprintf(w, "  peak memory    %.0f MiB (%s)\n", float64(res.Memory.Process)/(1<<20), res.Memory.Scope)
	}
	for _, m := range res.RejectMessages {
		fmt.Fprintf(w, "  rejection      %s\n", m)
	}
	if res.MissedEvents > 0 {
		fmt.Fprintf(w, "  warning        the event stream missed %d commits; their latencies are not counted\n", res.MissedEvents)
	}
}
