package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mass-consensus/mass/internal/app/tx"
	"github.com/mass-consensus/mass/internal/genesis"
)

func TestPercentile(t *testing.T) {
	var v []float64
	for i := 100; i >= 1; i-- { // unsorted: summarize sorts
		v = append(v, float64(i))
	}
	l := summarize(v, 3)
	if l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Fatalf("1..100: got %+v", l)
	}
	if l.Samples != 100 || l.Unfinished != 3 || l.Tracked != "all" {
		t.Fatalf("counts: got %+v", l)
	}
	for _, c := range []struct {
		vals []float64
		q    float64
		want float64
	}{
		{nil, 0.5, 0},
		{[]float64{7}, 0.5, 7},
		{[]float64{7}, 0.99, 7},
		{[]float64{1, 2}, 0.5, 1},  // nearest rank: ceil(0.5·2) = 1st
		{[]float64{1, 2}, 0.51, 2}, // ceil(1.02) = 2nd
		{[]float64{1, 2, 3}, 1, 3}, // the maximum
		{[]float64{1, 2, 3}, 0.01, 1},
	} {
		if got := percentile(c.vals, c.q); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.vals, c.q, got, c.want)
		}
	}
}

func TestSaturation(t *testing.T) {
	rule := Saturation{MinRatio: 0.8, MaxP99: time.Second, MaxUnfinished: 0.01}
	ok := Result{CommittedTxs: 1000, CommittedTPS: 950, Latency: Latency{Samples: 1000, P99: 200}}
	for _, c := range []struct {
		name string
		rate float64
		edit func(*Result)
		want bool
	}{
		{"healthy", 1000, func(*Result) {}, false},
		{"exactly 80%", 1000, func(r *Result) { r.CommittedTPS = 800 }, false},
		{"below 80%", 1000, func(r *Result) { r.CommittedTPS = 799 }, true},
		{"nothing committed", 1000, func(r *Result) { r.CommittedTxs, r.CommittedTPS = 0, 0 }, true},
		{"p99 at the bound", 1000, func(r *Result) { r.Latency.P99 = 1000 }, false},
		{"p99 past the bound", 1000, func(r *Result) { r.Latency.P99 = 1000.5 }, true},
		{"1% unfinished", 1000, func(r *Result) { r.Latency.Samples, r.Latency.Unfinished = 990, 10 }, false},
		{"2% unfinished", 1000, func(r *Result) { r.Latency.Samples, r.Latency.Unfinished = 980, 20 }, true},
		{"closed loop ignores the ratio", 0, func(r *Result) { r.CommittedTPS = 1 }, false},
	} {
		r := ok
		c.edit(&r)
		got, why := rule.Saturated(c.rate, r)
		if got != c.want {
			t.Errorf("%s: saturated = %v (%q), want %v", c.name, got, why, c.want)
		}
		if got && why == "" {
			t.Errorf("%s: saturated without a reason", c.name)
		}
	}
}

func TestBestRuns(t *testing.T) {
	runs := []Report{
		run(4, 500, 490, 10, 20, false), run(4, 1000, 980, 12, 25, false), run(4, 2000, 1200, 900, 3000, true),
		run(7, 500, 300, 900, 3000, true),
	}
	best := BestRuns(runs)
	if len(best) != 2 || best[0].Config.Rate != 1000 || best[1].Config.Nodes != 7 {
		t.Fatalf("best runs: %+v", best)
	}
}

// run makes a report for the writers and charts.
func run(n int, rate, committed, p50, p99 float64, saturated bool) Report {
	r := Report{Config: Config{Nodes: n, Rate: rate, Payload: PayloadRaw, Transport: TransportMem, Agreement: genesis.AgreementQuadratic, TxSize: 250}, Saturated: saturated}
	if saturated {
		r.Reason = "committed below 80% of offered"
	}
	r.Result = Result{
		Window: 10, OfferedTPS: rate, CommittedTxs: uint64(committed * 10), CommittedTPS: committed, MeanTxBytes: 250,
		Latency:    Latency{Samples: 100, P50: p50, P90: (p50 + p99) / 2, P99: p99},
		CPU:        CPU{Seconds: 5, Per1000Txs: 0.4 + float64(n)/10},
		BytesPerTx: 2000 * float64(n), Memory: Memory{PerNode: []uint64{50 << 20, 60 << 20}},
		Consensus: Consensus{Epochs: 100, Messages: 1000 * float64(n*n), MessagesPerEpoch: 10 * float64(n*n)},
	}
	return r
}

func TestWriteCSVAndJSON(t *testing.T) {
	runs := []Report{run(4, 500, 490, 10, 20, false), run(16, 1000, 700, 300, 2500, true)}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, runs); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !slices.Equal(rows[0], csvHeader) {
		t.Fatalf("rows: %q", rows)
	}
	col := func(row []string, name string) string { return row[slices.Index(csvHeader, name)] }
	if col(rows[1], "nodes") != "4" || col(rows[1], "committed_tps") != "490" || col(rows[1], "p99_ms") != "20" ||
		col(rows[1], "saturated") != "false" || col(rows[1], "peak_mem_mib") != "60" || col(rows[1], "bytes_per_tx") != "8000" ||
		col(rows[1], "agreement") != "quadratic" || col(rows[1], "msgs_per_node_per_epoch") != "160" {
		t.Errorf("row 1: %q", rows[1])
	}
	if col(rows[2], "nodes") != "16" || col(rows[2], "saturated") != "true" || col(rows[2], "reason") == "" {
		t.Errorf("row 2: %q", rows[2])
	}

	buf.Reset()
	in := SweepReport{Machine: Machine{GOOS: "linux", GOARCH: "amd64", NumCPU: 2, CPUModel: "Test CPU", GoVersion: "go1.26"}, Runs: runs}
	if err := WriteJSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	var out SweepReport
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if out.Machine != in.Machine || len(out.Runs) != 2 || out.Runs[1].Result.Latency.P99 != 2500 || !out.Runs[1].Saturated ||
		out.Runs[0].Config.Nodes != 4 || out.Runs[0].Result.CPU.Per1000Txs != runs[0].Result.CPU.Per1000Txs ||
		out.Runs[1].Config.Agreement != genesis.AgreementQuadratic || out.Runs[1].Result.Consensus != runs[1].Result.Consensus {
		t.Fatalf("JSON round trip: %+v", out)
	}
	// The figures have the names the docs use.
	for _, key := range []string{`"committed_tps"`, `"p50_ms"`, `"seconds_per_1000_txs"`, `"bytes_per_tx"`, `"per_node_peak_bytes"`, `"num_cpu"`,
		`"agreement": "quadratic"`, `"messages_per_node_per_epoch"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// svgPaths decodes an SVG document, failing on malformed XML, and returns
// the class of each path.
func svgPaths(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var classes []string
	root := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("malformed SVG: %v\n%s", err, doc)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			if se.Name.Local == "path" {
				for _, a := range se.Attr {
					if a.Name.Local == "class" {
						classes = append(classes, a.Value)
					}
				}
			}
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q", root)
	}
	return classes
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func TestLatencyChart(t *testing.T) {
	runs := []Report{
		run(4, 500, 490, 10, 20, false), run(4, 1000, 980, 12, 25, false), run(4, 2000, 1200, 900, 3000, true),
		run(7, 500, 495, 20, 40, false), run(7, 1000, 700, 800, 2500, true),
		run(16, 500, 300, 900, 3000, true),
	}
	var buf bytes.Buffer
	if err := LatencyChart(&buf, runs, "raw <payload> & co"); err != nil {
		t.Fatal(err)
	}
	paths := svgPaths(t, buf.Bytes())
	if count(paths, "p50") != 3 || count(paths, "p99") != 3 {
		t.Fatalf("want one p50 and one p99 path per size (3), got %q", paths)
	}
	for _, want := range []string{"n = 4", "n = 7", "n = 16", "committed transactions per second", "raw &lt;payload&gt; &amp; co"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	buf.Reset()
	if err := LatencyChart(&buf, nil, ""); err != nil {
		t.Fatal(err)
	}
	if paths := svgPaths(t, buf.Bytes()); len(paths) != 0 {
		t.Fatalf("no runs, paths %q", paths)
	}
}

func TestCostChart(t *testing.T) {
	runs := BestRuns([]Report{run(4, 1000, 980, 12, 25, false), run(7, 1000, 990, 20, 40, false), run(10, 500, 480, 30, 60, false), run(16, 500, 300, 900, 3000, true)})
	var buf bytes.Buffer
	if err := CostChart(&buf, runs, "raw"); err != nil {
		t.Fatal(err)
	}
	paths := svgPaths(t, buf.Bytes())
	if count(paths, "cost") != 2 || count(paths, "floor") != 1 {
		t.Fatalf("want a cost path per panel and the broadcast floor, got %q", paths)
	}
	for _, want := range []string{"CPU per transaction", "Bytes sent per transaction", "n=16: 500 → 300 (saturated)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
}

func TestMessagesChart(t *testing.T) {
	var runs []Report
	for _, n := range []int{4, 7, 10} {
		runs = append(runs, run(n, 500, 490, 10, 20, false), run(n, 1000, 980, 12, 25, false))
		b := run(n, 500, 490, 10, 20, false)
		b.Config.Agreement = genesis.AgreementBracha
		b.Result.Consensus.MessagesPerEpoch = float64(n * n * n)
		runs = append(runs, b)
	}
	old := run(16, 500, 300, 900, 3000, true) // before the figure was measured
	old.Result.Consensus = Consensus{}
	runs = append(runs, old)
	runs[1].Result.Consensus.MessagesPerEpoch = 200 // n = 4, quadratic: mean of 160 and 200

	series := messageSeries(runs)
	if len(series) != 2 || series[0].agreement != "quadratic" || series[1].agreement != "bracha" {
		t.Fatalf("series %+v", series)
	}
	q := series[0]
	if !slices.Equal(q.sizes(), []int{4, 7, 10}) || q.mean(4) != 180 || q.mean(7) != 490 || q.reference(8) != 180*4 {
		t.Fatalf("quadratic: sizes %v, means %v %v, k·8² %v", q.sizes(), q.mean(4), q.mean(7), q.reference(8))
	}

	var buf bytes.Buffer
	if err := MessagesChart(&buf, runs, "raw <payload>"); err != nil {
		t.Fatal(err)
	}
	paths := svgPaths(t, buf.Bytes())
	if count(paths, "messages") != 2 || count(paths, "reference") != 2 {
		t.Fatalf("want a curve and a reference per agreement, got %q", paths)
	}
	for _, want := range []string{"quadratic", "bracha", "messages handled per node per epoch", "raw &lt;payload&gt;", ">1k<"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	if strings.Contains(buf.String(), `>16<`) {
		t.Error("a run without the figure is on the chart")
	}

	buf.Reset()
	if err := MessagesChart(&buf, runs[:2], ""); err != nil {
		t.Fatal(err)
	}
	if paths := svgPaths(t, buf.Bytes()); count(paths, "messages") != 1 || count(paths, "reference") != 1 {
		t.Fatalf("one agreement, one size: paths %q", paths)
	}
	buf.Reset()
	if err := MessagesChart(&buf, nil, ""); err != nil {
		t.Fatal(err)
	}
	if paths := svgPaths(t, buf.Bytes()); len(paths) != 0 {
		t.Fatalf("no runs, paths %q", paths)
	}
}

func TestConsensusWork(t *testing.T) {
	before := []progress{{Messages: 100, Epoch: 10}, {Messages: 0, Epoch: 0}, {Messages: 50, Epoch: 7}}
	after := []progress{{Messages: 1100, Epoch: 20}, {Messages: 2000, Epoch: 10}, {Messages: 80, Epoch: 7}}
	// Node 2's epoch did not move: its messages count, its ratio does not.
	c := consensusWork(before, after)
	if c.MessagesPerEpoch != 150 || c.Epochs != 20.0/3 || c.Messages != 3030.0/3 {
		t.Fatalf("got %+v, want (100 + 200) / 2 per epoch", c)
	}
	if c := consensusWork(before, before); c != (Consensus{}) {
		t.Errorf("nothing moved: %+v", c)
	}
	if c := consensusWork(nil, after); c != (Consensus{}) {
		t.Errorf("no reading: %+v", c)
	}
	// A counter that went back (a node restarted) counts as nothing.
	if c := consensusWork(after[:1], before[:1]); c != (Consensus{}) {
		t.Errorf("counters going back: %+v", c)
	}
}

func TestSummaryConsensus(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0, "0"}, {7.4, "7"}, {999.5, "1,000"}, {1234, "1,234"}, {1234567, "1,234,567"}, {-1234, "-1,234"}} {
		if got := grouped(c.v); got != c.want {
			t.Errorf("grouped(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	r := run(16, 500, 490, 10, 20, false)
	var buf bytes.Buffer
	Summary(&buf, r)
	for _, want := range []string{"quadratic agreement", "consensus      2,560 messages handled per node per epoch (n² = 256; 100 epochs per node in the window)"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, buf.String())
		}
	}
	r.Result.Consensus = Consensus{Messages: 12}
	buf.Reset()
	Summary(&buf, r)
	if !strings.Contains(buf.String(), "no epoch ended in the window (12 messages handled per node)") {
		t.Errorf("no epoch:\n%s", buf.String())
	}
}

func TestAxes(t *testing.T) {
	a := linearAxis(43_000, 0, 100, compact)
	if a.hi != 50_000 || a.ticks[0] != 0 || a.ticks[len(a.ticks)-1] != 50_000 || a.px(25_000) != 50 {
		t.Fatalf("linear axis: %+v", a)
	}
	l := logAxis(3, 2500, 100, 0, compact)
	if l.lo != 1 || l.hi != 10_000 || l.px(1) != 100 || l.px(10_000) != 0 || l.px(100) != 50 {
		t.Fatalf("log axis: %+v", l)
	}
	if compact(20_000) != "20k" || compact(1500) != "1.5k" || compact(5) != "5" {
		t.Fatal(compact(20_000), compact(1500), compact(5))
	}
}

func TestProcParsing(t *testing.T) {
	// The command holds spaces and parentheses; utime 1234 and stime 66
	// ticks are fields 14 and 15.
	stat := "4242 (mass (start) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 1234 66 0 0 20 0 12 0 98765 123456789 4567 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	cpu, err := parseStatCPU([]byte(stat))
	if err != nil || cpu != 13*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 13s", cpu, err)
	}
	if _, err := parseStatCPU([]byte("4242 mass S 1")); err == nil {
		t.Error("a stat line without the command's parentheses parsed")
	}
	if _, err := parseStatCPU([]byte("4242 (mass) S 1 2 3")); err == nil {
		t.Error("a short stat line parsed")
	}
	status := "Name:\tmass\nVmPeak:\t 2000000 kB\nVmHWM:\t  153600 kB\nVmRSS:\t  100000 kB\nThreads:\t12\n"
	hwm, err := parseStatusKB([]byte(status), "VmHWM")
	if err != nil || hwm != 150<<20 {
		t.Fatalf("VmHWM = %d, %v; want 150 MiB", hwm, err)
	}
	if _, err := parseStatusKB([]byte(status), "VmSwap"); err == nil {
		t.Error("a missing field parsed")
	}
	if _, err := parseStatusKB([]byte("VmHWM:\t12 MB\n"), "VmHWM"); err == nil {
		t.Error("a field in MB parsed")
	}
	cpuinfo := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7B13\n"
	if m := parseCPUModel([]byte(cpuinfo)); m != "AMD EPYC 7B13" {
		t.Fatalf("CPU model %q", m)
	}
	// This process, where /proc exists.
	if _, err := os.Stat("/proc/self/status"); err == nil {
		if v, err := peakRSS("self"); err != nil || v == 0 {
			t.Errorf("peakRSS(self) = %d, %v", v, err)
		}
		if _, err := procCPU("/proc/self/stat"); err != nil {
			t.Error(err)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	text := "# HELP mass_committed_txs_total Transactions committed.\n# TYPE mass_committed_txs_total counter\n" +
		"mass_committed_txs_total 12345\nmass_transport_bytes_sent_total 6.5e+06\n" +
		`mass_transport_rejected_total{reason="bad"} 3` + "\nmass_committed_txs_total_other 1\n"
	m, err := parseMetrics([]byte(text), metricCommitted, metricBytesSent)
	if err != nil || m[metricCommitted] != 12345 || m[metricBytesSent] != 6.5e6 {
		t.Fatalf("got %v, %v", m, err)
	}
	if _, err := parseMetrics([]byte(text), scraped...); err == nil {
		t.Error("a sample without the consensus counters parsed")
	}
	text += "# TYPE mass_epoch gauge\nmass_epoch 812\nmass_consensus_messages_total 1.5e+06\n"
	m, err = parseMetrics([]byte(text), scraped...)
	if err != nil || m[metricEpoch] != 812 || m[metricMessages] != 1.5e6 || m[metricCommitted] != 12345 {
		t.Fatalf("got %v, %v", m, err)
	}
	if _, err := parseMetrics([]byte(text), "mass_height"); err == nil {
		t.Error("a missing metric parsed")
	}
}

// fakeAPI serves an httpNodes: each POST /v1/txs/batch gets the next of
// batchAnswers (status and body), GET /v1/events the stream.
func fakeAPI(t *testing.T, stream string, batchAnswers ...string) *httpNodes {
	t.Helper()
	var mu sync.Mutex
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/txs/batch", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		status, body, _ := strings.Cut(batchAnswers[0], " ")
		batchAnswers = batchAnswers[1:]
		code, _ := strconv.Atoi(status)
		w.WriteHeader(code)
		io.WriteString(w, body)
	})
	mux.HandleFunc("GET /v1/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, stream)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return newHTTPNodes("bench-test", []string{srv.Listener.Addr().String()})
}

func TestHTTPSubmit(t *testing.T) {
	txs := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	c := fakeAPI(t, "",
		`200 {"accepted":0,"rejected":[{"index":0,"code":"busy","message":"full"},{"index":1,"code":"duplicate","message":"d"},{"index":2,"code":"rejected","message":"bad nonce"}]}`,
		`503 {"error":{"code":"busy","message":"the pending queue is full"}}`,
		`400 {"error":{"code":"bad_request","message":"malformed batch"}}`,
		`200 {"accepted":3,"rejected":[{"index":3,"code":"busy","message":"x"}]}`,
	)
	ctx := context.Background()
	rej, err := c.submit(ctx, 0, txs)
	if err != nil || len(rej) != 2 || !rej[0].Busy || rej[1].Busy || rej[1].Index != 2 || !strings.Contains(rej[1].Message, "bad nonce") {
		t.Fatalf("rejections %+v, %v", rej, err)
	}
	// A node with no room: every transaction may be sent again.
	rej, err = c.submit(ctx, 0, txs)
	if err != nil || len(rej) != 3 || !rej[0].Busy || !rej[2].Busy {
		t.Fatalf("busy: %+v, %v", rej, err)
	}
	if _, err := c.submit(ctx, 0, txs); err == nil || !strings.Contains(err.Error(), "malformed batch") {
		t.Fatalf("a refused batch: %v", err)
	}
	if _, err := c.submit(ctx, 0, txs); err == nil {
		t.Fatal("an answer rejecting an index out of the batch was taken")
	}
}

func TestHTTPEvents(t *testing.T) {
	h1, h2, blk := strings.Repeat("ab", 32), strings.Repeat("01", 32), strings.Repeat("cd", 32)
	stream := ": ping\n\nevent: commit\ndata: {\"height\":7,\"hash\":\"" + blk + "\",\"time_ms\":1,\"txs\":[\"" + h1 + "\",\"" + h2 + "\"],\"results\":[{\"code\":0,\"log\":\"\"},{\"code\":4,\"log\":\"funds\"}]}\n\n" +
		"event: commit\ndata: {\"height\":8,\"hash\":\"" + blk + "\",\"txs\":[],\"results\":[]}\n\n"
	c := fakeAPI(t, stream)
	if err := c.subscribe(); err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	var got []commitEvent
	for ev := range c.commits() {
		got = append(got, ev)
	}
	if len(got) != 2 || got[0].Height != 7 || len(got[0].Txs) != 2 || got[0].Failed != 1 || got[0].Txs[0][0] != 0xab || got[0].Txs[1][31] != 0x01 || got[1].Height != 8 {
		t.Fatalf("events %+v", got)
	}
	select {
	case <-c.failed():
		t.Fatalf("the end of the stream failed the run: %v", c.failure())
	default:
	}
	// A malformed event fails the run.
	bad := fakeAPI(t, "event: commit\ndata: {\"height\":1,\"hash\":\""+blk+"\",\"txs\":[\"zz\"]}\n\n")
	if err := bad.subscribe(); err != nil {
		t.Fatal(err)
	}
	defer bad.stop()
	for range bad.commits() {
		t.Error("a malformed event was delivered")
	}
	// The stream's reader fails the run before it closes the channel.
	select {
	case <-bad.failed():
		if !strings.Contains(bad.failure().Error(), "transaction hash 0") {
			t.Fatalf("failure: %v", bad.failure())
		}
	default:
		t.Fatal("a malformed event did not fail the run")
	}
}

func TestTrackerWindow(t *testing.T) {
	s := newSlots(10)
	for range 5 {
		if !s.tryTake() {
			t.Fatal("no slot")
		}
	}
	tr := newTracker(time.Now(), s)
	before, in1, in2, after := txHash{1}, txHash{2}, txHash{3}, txHash{4}
	tr.add([]txHash{before})
	tr.startWindow()
	tr.add([]txHash{in1, in2})
	tr.endWindow()
	tr.add([]txHash{after})
	if tr.windowLeft() != 2 {
		t.Fatalf("window's transactions pending: %d", tr.windowLeft())
	}
	tr.commit(commitEvent{Height: 1, Txs: []txHash{before, in1, {9}}, Failed: 1})
	if tr.windowLeft() != 1 || s.inUse() != 3 || tr.committed.Load() != 3 || tr.failed.Load() != 1 {
		t.Fatalf("after a commit: left %d, slots %d, committed %d", tr.windowLeft(), s.inUse(), tr.committed.Load())
	}
	tr.commit(commitEvent{Height: 2, Txs: []txHash{after}})
	lat, unfinished := tr.result()
	if len(lat) != 1 || lat[0] < 0 || unfinished != 1 {
		t.Fatalf("latencies %v, unfinished %d", lat, unfinished)
	}
	tr.expire(0) // in2 is given up on
	if _, unfinished := tr.result(); unfinished != 1 || tr.windowLeft() != 0 || s.inUse() != 1 {
		t.Fatalf("after expiry: unfinished %d, left %d, slots %d", unfinished, tr.windowLeft(), s.inUse())
	}
}

func TestTransferPayload(t *testing.T) {
	p := newTransferPayload("mass-bench", 5, 250)
	rng := rand.NewChaCha8([32]byte{})
	for k := uint64(0); k < 12; k++ {
		raw := p.make(k, rng)
		if len(raw) != 250 {
			t.Fatalf("transaction %d has %d bytes, want 250", k, len(raw))
		}
		tt, err := tx.Unmarshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := tt.Verify("mass-bench"); err != nil {
			t.Fatalf("transaction %d: %v", k, err)
		}
		tr := tt.Body.(*tx.Transfer)
		if tt.Sender != p.keys[k%5].Public() || tt.Nonce != k/5 || tr.To == tt.Sender || tr.Amount != 1 {
			t.Fatalf("transaction %d: sender %s nonce %d to %s", k, tt.Sender, tt.Nonce, tr.To)
		}
	}
	small := newTransferPayload("mass-bench", 2, 10)
	if n := len(small.make(0, rng)); n <= 10 || small.memo != 0 {
		t.Fatalf("a transfer cannot be 10 bytes: got %d, memo %d", n, small.memo)
	}
	raw, err := p.genesis()
	if err != nil || !bytes.Contains(raw, []byte(`"supervisor"`)) {
		t.Fatalf("genesis %s, %v", raw, err)
	}
	r := rawPayload{size: 4}
	a, b := r.make(1, rng), r.make(2, rng)
	if len(a) != 4 || bytes.Equal(a, b) {
		t.Fatalf("raw transactions %x, %x", a, b)
	}
}

func TestConfig(t *testing.T) {
	c := Config{Payload: PayloadTransfer, InFlight: 100_000}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Nodes != 4 || c.TxSize != 250 || c.Transport != TransportP2P || c.Accounts*nonceMargin < c.InFlight+generatorBuffer ||
		c.Agreement != genesis.AgreementQuadratic {
		t.Fatalf("defaults %+v", c)
	}
	for _, bad := range []Config{
		{Payload: "json"}, {Transport: "tcp"}, {Rate: -1}, {InFlight: 10, Batch: 100},
		{CPUProfile: "cpu.out", Transport: TransportP2P}, {Agreement: "paxos"},
		{Payload: PayloadSale, Transport: TransportMem}, {Payload: PayloadSale, Rate: 100},
		{Payload: PayloadSale, Sale: SaleConfig{Buyers: 100_001}}, {Payload: PayloadSale, Sale: SaleConfig{Buyers: -1}},
		{Payload: PayloadSale, Sale: SaleConfig{Buyers: 10, Supply: 11}}, {Payload: PayloadSale, Sale: SaleConfig{StampInFlight: 5000}},
		{Payload: PayloadSale, Sale: SaleConfig{Window: time.Millisecond}}, {Payload: PayloadSale, Sale: SaleConfig{MaxAge: 2 * time.Hour}},
		{Payload: PayloadRaw, Sale: SaleConfig{Buyers: 10}},
	} {
		bad.Defaults()
		if err := bad.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// checkRun asserts what any run that worked must show.
func checkRun(t *testing.T, r Report) {
	t.Helper()
	res := r.Result
	t.Logf("%+v", res)
	if res.CommittedTxs == 0 {
		t.Fatal("nothing committed")
	}
	if res.CommittedTxs > res.OfferedTxs+res.InFlightAtStart {
		t.Errorf("committed %d > offered %d + in flight at start %d", res.CommittedTxs, res.OfferedTxs, res.InFlightAtStart)
	}
	if res.Rejected != 0 || res.FailedInBlock != 0 {
		t.Errorf("rejected %d (%q), failed in block %d", res.Rejected, res.RejectMessages, res.FailedInBlock)
	}
	l := res.Latency
	if l.Samples == 0 || !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latency %+v", l)
	}
	if res.BytesSent == 0 || res.BytesPerTx <= 0 {
		t.Errorf("bytes sent %d, per tx %v", res.BytesSent, res.BytesPerTx)
	}
	if res.CPU.Seconds <= 0 || res.CPU.Per1000Txs <= 0 {
		t.Errorf("CPU %+v", res.CPU)
	}
	if res.Memory.MaxPeak() == 0 {
		t.Errorf("memory %+v", res.Memory)
	}
	// Each node handles some messages of every epoch, and not more than a
	// generous bound on what a quadratic or Bracha's agreement sends.
	n := float64(r.Config.Nodes)
	if k := res.Consensus; k.Messages <= 0 || k.Epochs <= 0 || k.MessagesPerEpoch < n || k.MessagesPerEpoch > 50*n*n {
		t.Errorf("consensus %+v: want messages per node per epoch in [%v, %v]", k, n, 50*n*n)
	}
	if r.Machine.NumCPU == 0 || r.Machine.GoVersion == "" {
		t.Errorf("machine %+v", r.Machine)
	}
}

func TestRunMemRaw(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.pprof")
	r, err := Run(context.Background(), Config{
		Transport: TransportMem, Payload: PayloadRaw, Nodes: 4, Rate: 200,
		Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Drain: 3 * time.Second,
		CPUProfile: prof,
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, r)
	if r.Result.MeanTxBytes != 250 || r.Result.Shed != 0 {
		t.Errorf("mean size %v, shed %d", r.Result.MeanTxBytes, r.Result.Shed)
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("CPU profile: %v", err)
	}
}

func TestRunMemTransfer(t *testing.T) {
	r, err := Run(context.Background(), Config{
		Transport: TransportMem, Payload: PayloadTransfer, Nodes: 4, Rate: 200, Accounts: 50, InFlight: 1000,
		Duration: 1500 * time.Millisecond, Warmup: 500 * time.Millisecond, Drain: 3 * time.Second,
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, r)
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(700 * time.Millisecond)
		cancel()
	}()
	_, err := Run(ctx, Config{Transport: TransportMem, Rate: 100, Duration: time.Minute}, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestSweepMem(t *testing.T) {
	if testing.Short() {
		t.Skip("a sweep of two runs")
	}
	dir := t.TempDir()
	base := Config{Transport: TransportMem, Payload: PayloadRaw, Duration: time.Second, Warmup: 300 * time.Millisecond, Drain: 2 * time.Second}
	// The second rate cannot be met: 10 in flight at a time with commits
	// every few milliseconds is far below a million a second.
	base.InFlight, base.Batch = 10, 10
	base.Agreement = genesis.AgreementBracha
	rep, err := Sweep(context.Background(), SweepConfig{Base: base, Nodes: []int{4}, Rates: []float64{100, 1e6, 2e6}, Dir: dir}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Saturated || !rep.Runs[1].Saturated {
		t.Fatalf("want an unsaturated run then a saturated one, the sweep stopping there: %+v", rep.Runs)
	}
	if a := rep.Runs[0].Config.Agreement; a != genesis.AgreementBracha {
		t.Errorf("the sweep ran the %q agreement, not the base's", a)
	}
	for _, f := range []string{SweepJSON, SweepCSV, ChartLatency, ChartCost, ChartMessages} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(raw) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
		if strings.HasSuffix(f, ".svg") {
			svgPaths(t, raw)
		}
	}
	var back SweepReport
	raw, _ := os.ReadFile(filepath.Join(dir, SweepJSON))
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Runs) != 2 {
		t.Fatalf("results.json: %v, %d runs", err, len(back.Runs))
	}
}

// TestRunInproc runs the real daemons (Pebble, libp2p on 127.0.0.1, the
// HTTP API) in this process: the submissions, the event stream and the
// metrics scrapes of the p2p mode.
func TestRunInproc(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four daemons")
	}
	r, err := Run(context.Background(), Config{
		Transport: TransportInproc, Payload: PayloadRaw, Nodes: 4, Rate: 200, Batch: 50,
		Duration: 1500 * time.Millisecond, Warmup: 500 * time.Millisecond, Drain: 3 * time.Second,
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	checkRun(t, r)
}

func TestSaleConfig(t *testing.T) {
	c := Config{Payload: PayloadSale, Transport: TransportInproc}
	c.Defaults()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	s := c.Sale
	if s.Buyers != 100_000 || s.Supply != 1000 || s.StampInFlight != 64 || s.Window != SaleWindowFor(100_000) || s.MaxAge != SaleMaxAgeFor(100_000) {
		t.Fatalf("defaults %+v", s)
	}
	c = Config{Payload: PayloadSale, Sale: SaleConfig{Buyers: 10}}
	c.Defaults()
	if c.Sale.Supply != 10 || c.Validate() != nil {
		t.Fatalf("10 buyers: %+v", c.Sale)
	}
	if _, err := Sweep(context.Background(), SweepConfig{Base: Config{Payload: PayloadSale}, Nodes: []int{4}, Rates: []float64{10}}, io.Discard); !errors.Is(err, ErrConfig) {
		t.Fatalf("a sweep of the sale payload: %v", err)
	}
}

// TestRunInprocSale runs the sale payload on four daemons in this process
// with 200 buyers: every buyer is stamped by every node, every request is
// kept, exactly the supply is sold at the close (the run checks the
// sale's record and fails otherwise).
func TestRunInprocSale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four daemons")
	}
	const buyers, supply, nodes = 200, 20, 4
	r, err := Run(context.Background(), Config{
		Transport: TransportInproc, Payload: PayloadSale, Nodes: nodes, Batch: 50,
		Sale: SaleConfig{Buyers: buyers, Supply: supply, StampInFlight: 16, Window: 4 * time.Second, MaxAge: 4 * time.Second},
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Result.Sale
	if s == nil {
		t.Fatal("no sale figures")
	}
	t.Logf("%+v", *s)
	st := s.Stamping
	if st.Stamps != buyers*nodes || len(st.PerNode) != nodes || st.PerSecond <= 0 || st.Latency.Samples != buyers*nodes || st.Latency.P50 <= 0 {
		t.Errorf("stamping %+v", st)
	}
	for i, p := range st.PerNode {
		if p.Stamps != buyers || p.PerSecond <= 0 {
			t.Errorf("node %d: %+v", i, p)
		}
	}
	rq := s.Requests
	if rq.Submitted != buyers || rq.Committed != buyers || rq.Failed != 0 || rq.Rejected != 0 || rq.PerSecond <= 0 || rq.Blocks == 0 {
		t.Errorf("requests %+v", rq)
	}
	if l := r.Result.Latency; l.Samples != buyers || l.Unfinished != 0 || !(0 < l.P50 && l.P50 <= l.P99) {
		t.Errorf("latency %+v", l)
	}
	c := s.Close
	if c.State != "closed" || c.Kept != buyers || c.Accepted != buyers || c.Evicted != 0 || c.Sold != supply || c.Winners != supply || c.Height == 0 || c.ApplyMs <= 0 {
		t.Errorf("close %+v", c)
	}
	if r.Result.CommittedTxs != buyers || r.Result.CPU.Per1000Txs <= 0 {
		t.Errorf("result %+v", r.Result)
	}
	var out bytes.Buffer
	Summary(&out, r)
	for _, want := range []string{"stamping", "requests", "close", "20 sold to 20 winners"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("summary without %q:\n%s", want, out.String())
		}
	}
}
