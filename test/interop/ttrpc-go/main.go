// Command ttrpc-go is husk's interop peer: containerd's own ttrpc (Go, v1.1 as packaged by Debian)
// acting as client against a husk server, or as server for a husk client, on the test service
// husk.test.v1.Echo. It is built and driven by test/unit/ttrpc/interop.test.ts.
//
//	ttrpc-go client <socket>   run the client checks, print one JSON report on stdout
//	ttrpc-go server <socket>   serve Echo, print "ready", exit when stdin closes
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const serviceName = "husk.test.v1.Echo"

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ttrpc-go client|server <socket>")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "client":
		err = runClient(os.Args[2])
	case "server":
		err = runServer(os.Args[2])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ttrpc-go:", err)
		os.Exit(1)
	}
}

// statusReport is how a call ended, as the Go side saw it.
type statusReport struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func report(err error) statusReport {
	if err == nil {
		return statusReport{Code: 0}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return statusReport{Code: int(codes.DeadlineExceeded), Message: err.Error()}
	}
	st, _ := status.FromError(err)
	return statusReport{Code: int(st.Code()), Message: st.Message()}
}

type clientReport struct {
	Unary struct {
		Status      statusReport `json:"status"`
		Text        string       `json:"text"`
		Metadata    []string     `json:"metadata"`
		TimeoutNano int64        `json:"timeoutNano"`
	} `json:"unary"`
	Failure       statusReport `json:"failure"`
	UnknownMethod statusReport `json:"unknownMethod"`
	Deadline      struct {
		Status     statusReport `json:"status"`
		ElapsedMs  int64        `json:"elapsedMs"`
		ServerSaw  string       `json:"serverSaw"`
		LastStatus statusReport `json:"lastStatus"`
	} `json:"deadline"`
	Concurrent struct {
		Calls    int      `json:"calls"`
		Correct  int      `json:"correct"`
		Failures []string `json:"failures"`
	} `json:"concurrent"`
}

func runClient(path string) error {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return err
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	var out clientReport

	// A unary call with metadata and a deadline far away.
	md := ttrpc.MD{}
	md.Set("containerd-namespace-ttrpc", "interop")
	md.Append("x-husk-multi", "one", "two")
	ctx, cancel := context.WithTimeout(ttrpc.WithMetadata(context.Background(), md), time.Minute)
	var resp EchoResponse
	err = client.Call(ctx, serviceName, "Echo", &EchoRequest{Text: "hello from go"}, &resp)
	cancel()
	out.Unary.Status = report(err)
	out.Unary.Text = resp.Text
	out.Unary.Metadata = resp.Metadata
	out.Unary.TimeoutNano = resp.TimeoutNano

	// A status error chosen by the request.
	err = client.Call(context.Background(), serviceName, "Fail",
		&EchoRequest{FailCode: int32(codes.AlreadyExists), FailMessage: "id e2: already exists"}, &EchoResponse{})
	out.Failure = report(err)

	err = client.Call(context.Background(), serviceName, "NoSuchMethod", &EchoRequest{}, &EchoResponse{})
	out.UnknownMethod = report(err)

	// A deadline that expires while the husk handler sleeps; then ask how the handler ended.
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	start := time.Now()
	err = client.Call(ctx, serviceName, "Sleep", &EchoRequest{SleepMs: 60000}, &EchoResponse{})
	cancel()
	out.Deadline.Status = report(err)
	out.Deadline.ElapsedMs = time.Since(start).Milliseconds()
	var last EchoResponse
	err = client.Call(context.Background(), serviceName, "LastSleep", &EchoRequest{}, &last)
	out.Deadline.LastStatus = report(err)
	out.Deadline.ServerSaw = last.Text

	// 100 concurrent calls on the one connection.
	const calls = 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	out.Concurrent.Calls = calls
	out.Concurrent.Failures = []string{}
	for i := 0; i < calls; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var r EchoResponse
			text := "call-" + strconv.Itoa(i)
			err := client.Call(context.Background(), serviceName, "Echo", &EchoRequest{Text: text}, &r)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && r.Text == text {
				out.Concurrent.Correct++
			} else {
				out.Concurrent.Failures = append(out.Concurrent.Failures, fmt.Sprintf("%s: %v %q", text, err, r.Text))
			}
		}(i)
	}
	wg.Wait()

	return json.NewEncoder(os.Stdout).Encode(&out)
}

// sleepTracker remembers how the most recent Sleep ended.
type sleepTracker struct {
	mu      sync.Mutex
	done    chan struct{}
	outcome string
}

func (t *sleepTracker) begin() chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = make(chan struct{})
	return t.done
}

func (t *sleepTracker) end(done chan struct{}, outcome string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.outcome = outcome
	close(done)
}

func (t *sleepTracker) wait(ctx context.Context) string {
	t.mu.Lock()
	done := t.done
	t.mu.Unlock()
	if done == nil {
		return "no sleep yet"
	}
	select {
	case <-done:
	case <-ctx.Done():
		return "still sleeping"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.outcome
}

func runServer(path string) error {
	server, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	tracker := &sleepTracker{}
	server.Register(serviceName, map[string]ttrpc.Method{
		"Echo": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req EchoRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			resp := &EchoResponse{Text: req.Text, Metadata: []string{}}
			if md, ok := ttrpc.GetMetadata(ctx); ok {
				for key, values := range md {
					for _, value := range values {
						resp.Metadata = append(resp.Metadata, key+"="+value)
					}
				}
				sort.Strings(resp.Metadata)
			}
			if deadline, ok := ctx.Deadline(); ok {
				resp.TimeoutNano = time.Until(deadline).Nanoseconds()
			}
			return resp, nil
		},
		"Fail": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req EchoRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			return nil, status.Error(codes.Code(req.FailCode), req.FailMessage)
		},
		"Sleep": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req EchoRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			done := tracker.begin()
			select {
			case <-time.After(time.Duration(req.SleepMs) * time.Millisecond):
				tracker.end(done, "completed")
				return &EchoResponse{Text: "slept"}, nil
			case <-ctx.Done():
				tracker.end(done, ctx.Err().Error())
				return nil, ctx.Err()
			}
		},
		"LastSleep": func(ctx context.Context, unmarshal func(interface{}) error) (interface{}, error) {
			var req EchoRequest
			if err := unmarshal(&req); err != nil {
				return nil, err
			}
			waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			return &EchoResponse{Text: tracker.wait(waitCtx)}, nil
		},
	})
	listener, err := net.Listen("unix", path)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- server.Serve(context.Background(), listener) }()
	fmt.Println("ready")
	// The test closes our stdin to stop us.
	_, _ = io.Copy(io.Discard, os.Stdin)
	closeErr := server.Close()
	if err := <-served; err != nil && !errors.Is(err, ttrpc.ErrServerClosed) {
		return err
	}
	return closeErr
}
