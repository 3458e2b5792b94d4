package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Case is one request a test makes and the outcome it expects.
type Case struct {
	Subtest string      `json:"subtest"`
	Line    int         `json:"line"`
	Gateway GatewayJSON `json:"gateway"`
	Scheme  string      `json:"scheme"`
	// Deleted lists the objects the test deleted before making this request.
	Deleted []ObjectJSON `json:"deleted"`
	Request RequestJSON  `json:"request"`
	Expect  ExpectJSON   `json:"expect"`
}

// GatewayJSON is the Gateway (and listeners, when the test names them) the request is sent to.
type GatewayJSON struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Listeners []string `json:"listeners"`
}

// ObjectJSON names a Kubernetes object.
type ObjectJSON struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// RequestJSON is the request as the suite sends it (method defaulted to GET, query split off).
type RequestJSON struct {
	Host      string            `json:"host"`
	Method    string            `json:"method"`
	Path      string            `json:"path"`
	Query     string            `json:"query"`
	Headers   map[string]string `json:"headers"`
	SNI       string            `json:"sni,omitempty"`
	WebSocket bool              `json:"websocket"`
}

// ExpectJSON is the expected outcome, with the suite's defaults applied.
type ExpectJSON struct {
	// Status lists the acceptable response codes (200 when the test names none).
	Status []int64 `json:"status"`
	// Backend is the expected backend Service name (the echo pod name's prefix); null means any.
	Backend   *string `json:"backend"`
	Namespace string  `json:"namespace"`
	// Upstream is the request the backend must see (checked on a 200).
	Upstream UpstreamJSON `json:"upstream"`
	// Redirect is the expected Location (checked on a 3xx); an empty Host or Port is the suite's
	// "not checked" / "default port for the scheme".
	Redirect *RedirectJSON `json:"redirect"`
	// Weights is the expected share of requests per backend Service.
	Weights map[string]float64 `json:"weights"`
	// Failure: the suite only requires that the request does not succeed with a 200.
	Failure bool `json:"failure"`
	// Unchecked names expectations of the test that concern more than routing (headers, mirrors).
	Unchecked []string `json:"unchecked"`
}

// UpstreamJSON is the path, query, host and method the backend receives.
type UpstreamJSON struct {
	Path   string `json:"path"`
	Query  string `json:"query"`
	Host   string `json:"host"`
	Method string `json:"method"`
}

// RedirectJSON is the expected redirect target.
type RedirectJSON struct {
	Scheme string `json:"scheme"`
	Host   string `json:"host"`
	Port   string `json:"port"`
	Path   string `json:"path"`
}

// Recorder collects the cases of one test, deduplicated (retry loops repeat the same request).
type Recorder struct {
	deleted  []ObjectJSON
	mutation string
	list     []Case
	seen     map[string]bool
}

func newRecorder() *Recorder { return &Recorder{seen: map[string]bool{}} }

func (r *Recorder) cases() []Case { return append([]Case{}, r.list...) }

func (r *Recorder) add(c Case) {
	key, _ := json.Marshal(c)
	if r.seen[string(key)] {
		return
	}
	r.seen[string(key)] = true
	r.list = append(r.list, c)
}

func (r *Recorder) deleteObject(in *Interpreter, call *ast.CallExpr, object Value) {
	record, ok := object.(*Struct)
	meta, metaOK := field(object, "ObjectMeta").(*Struct)
	if !ok || !metaOK {
		r.mutated(in, call, "Client.Delete of an object the extractor cannot know")
		return
	}
	name, errName := text(meta.Fields["Name"])
	namespace, errNamespace := text(meta.Fields["Namespace"])
	if errName != nil || errNamespace != nil {
		r.mutated(in, call, "Client.Delete of an object whose name the extractor cannot know")
		return
	}
	r.deleted = append(r.deleted, ObjectJSON{Kind: typeNameOf(record.Type), Namespace: namespace, Name: name})
}

// mutated marks the cluster state as changed in a way the cases cannot express: later requests
// are reported as unextracted.
func (r *Recorder) mutated(in *Interpreter, call *ast.CallExpr, what string) {
	if r.mutation == "" {
		r.mutation = fmt.Sprintf("%s at line %d changes the cluster", what, in.line(call))
	}
}

// suiteHelpers models the conformance suite's helpers by import path and name.
var suiteHelpers = map[string]func(*Interpreter, *ast.CallExpr, []Value) Value{}

func helperKey(path, name string) string { return path + "." + name }

func init() {
	utils := modulePath + "/utils/"
	suiteHelpers[helperKey(utils+"http", "MakeRequestAndExpectEventuallyConsistentResponse")] = func(in *Interpreter, call *ast.CallExpr, args []Value) Value {
		in.recorder.request(in, call, argument(args, 3), argument(args, 4), "http", nil, false)
		return nil
	}
	suiteHelpers[helperKey(utils+"http", "MakeRequestAndExpectFailure")] = func(in *Interpreter, call *ast.CallExpr, args []Value) Value {
		in.recorder.request(in, call, argument(args, 3), argument(args, 4), "http", nil, true)
		return nil
	}
	suiteHelpers[helperKey(utils+"tls", "MakeTLSRequestAndExpectEventuallyConsistentResponse")] = func(in *Interpreter, call *ast.CallExpr, args []Value) Value {
		in.recorder.request(in, call, argument(args, 3), argument(args, 8), "https", argument(args, 7), false)
		return nil
	}
	suiteHelpers[helperKey(utils+"http", "MakeRequest")] = makeRequest
	suiteHelpers[helperKey(utils+"http", "AddEntropy")] = func(*Interpreter, *ast.CallExpr, []Value) Value { return nil }
	suiteHelpers[helperKey(utils+"http", "AwaitConvergence")] = func(in *Interpreter, _ *ast.CallExpr, args []Value) Value {
		in.call(argument(args, 3), []Value{&Unknown{"elapsed time"}})
		return nil
	}
	suiteHelpers[helperKey(utils+"kubernetes", "NewGatewayRef")] = newGatewayRef
	suiteHelpers[helperKey(utils+"kubernetes", "GatewayAndHTTPRoutesMustBeAccepted")] = func(in *Interpreter, _ *ast.CallExpr, args []Value) Value {
		return in.gatewayAddress(argument(args, 4))
	}
	suiteHelpers[helperKey(utils+"kubernetes", "GatewayAndRoutesMustBeAccepted")] = suiteHelpers[helperKey(utils+"kubernetes", "GatewayAndHTTPRoutesMustBeAccepted")]
	suiteHelpers[helperKey(utils+"kubernetes", "WaitForGatewayAddress")] = func(in *Interpreter, _ *ast.CallExpr, args []Value) Value {
		return Tuple{in.gatewayAddress(argument(args, 3)), nil}
	}
	suiteHelpers[helperKey(utils+"weight", "NewFunctionBasedSender")] = func(_ *Interpreter, _ *ast.CallExpr, args []Value) Value {
		return &Sender{Fn: argument(args, 0)}
	}
	suiteHelpers[helperKey(utils+"weight", "TestWeightedDistribution")] = weightedDistribution
}

func argument(args []Value, i int) Value {
	if i < len(args) {
		return args[i]
	}
	return &Unknown{fmt.Sprintf("missing argument %d", i)}
}

func newGatewayRef(_ *Interpreter, _ *ast.CallExpr, args []Value) Value {
	ref := &GatewayRef{NN: argument(args, 0), Listeners: []string{}}
	for _, listener := range args[min(1, len(args)):] {
		name, ok := listener.(string)
		if !ok {
			return &Unknown{"a listener name the extractor cannot know"}
		}
		ref.Listeners = append(ref.Listeners, name)
	}
	return ref
}

func (in *Interpreter) gatewayAddress(ref Value) Value {
	gatewayRef, ok := ref.(*GatewayRef)
	if !ok {
		return &Unknown{"the address of a Gateway the extractor cannot know"}
	}
	addr := &GatewayAddr{Ref: gatewayRef, ID: len(in.addresses)}
	in.addresses = append(in.addresses, addr)
	return addr
}

// makeRequest is http.MakeRequest(t, &expected, gwAddr, protocol, scheme): a weighted sender's
// request; anywhere else the test compares the response itself, which is not modelled.
func makeRequest(in *Interpreter, call *ast.CallExpr, args []Value) Value {
	if in.weights == nil {
		in.giveUp(call, "http.MakeRequest outside a weighted sender: the test compares the response itself")
		return &Unknown{"request"}
	}
	scheme, ok := argument(args, 4).(string)
	if !ok {
		scheme = "http"
	}
	in.recorder.request(in, call, argument(args, 2), argument(args, 1), scheme, nil, false)
	return &Unknown{"request"}
}

func weightedDistribution(in *Interpreter, call *ast.CallExpr, args []Value) Value {
	sender, ok := argument(args, 0).(*Sender)
	if !ok {
		in.giveUp(call, "a weighted distribution over a sender the extractor cannot know")
		return &Unknown{"error"}
	}
	saved := in.weights
	in.weights = argument(args, 1)
	in.call(sender.Fn, nil)
	in.weights = saved
	return &Unknown{"error of the weighted distribution"}
}

var webSocketURL = regexp.MustCompile(`^(wss?)://\{gateway-address-(\d+)\}(/[^?]*)?(?:\?(.*))?$`)

// webSocket records suite.WebSocketDialer.Dial(url, ...): the upgrade must reach a backend.
func (r *Recorder) webSocket(in *Interpreter, call *ast.CallExpr, target Value) {
	url, ok := target.(string)
	parts := webSocketURL.FindStringSubmatch(url)
	if !ok || parts == nil {
		in.giveUp(call, "a websocket dial to a URL the extractor cannot know")
		return
	}
	id, _ := strconv.Atoi(parts[2])
	scheme := map[string]string{"ws": "http", "wss": "https"}[parts[1]]
	path := parts[3]
	if path == "" {
		path = "/"
	}
	c, err := r.baseCase(in, call, in.addresses[id], scheme)
	if err != nil {
		in.giveUp(call, err.Error())
		return
	}
	c.Request = RequestJSON{Method: "GET", Path: path, Query: parts[4], Headers: map[string]string{}, WebSocket: true}
	c.Expect = ExpectJSON{
		Status:    []int64{101},
		Upstream:  UpstreamJSON{Path: path, Query: parts[4], Method: "GET"},
		Unchecked: []string{"websocket frames echoed"},
	}
	r.add(c)
}

func (r *Recorder) baseCase(in *Interpreter, call *ast.CallExpr, addr Value, scheme string) (Case, error) {
	if r.mutation != "" {
		return Case{}, fmt.Errorf("request after %s", r.mutation)
	}
	gateway, err := gatewayOf(addr)
	if err != nil {
		return Case{}, err
	}
	return Case{
		Subtest: strings.Join(in.subtests, "/"),
		Line:    in.line(call),
		Gateway: gateway,
		Scheme:  scheme,
		Deleted: append([]ObjectJSON{}, r.deleted...),
	}, nil
}

func gatewayOf(addr Value) (GatewayJSON, error) {
	gatewayAddr, ok := addr.(*GatewayAddr)
	if !ok {
		return GatewayJSON{}, fmt.Errorf("the request goes to an address the extractor cannot know (%s)", describeUnknown(addr))
	}
	namespace, err := text(field(gatewayAddr.Ref.NN, "Namespace"))
	if err != nil {
		return GatewayJSON{}, fmt.Errorf("the Gateway's namespace: %w", err)
	}
	name, err := text(field(gatewayAddr.Ref.NN, "Name"))
	if err != nil {
		return GatewayJSON{}, fmt.Errorf("the Gateway's name: %w", err)
	}
	return GatewayJSON{Namespace: namespace, Name: name, Listeners: gatewayAddr.Ref.Listeners}, nil
}

func describeUnknown(value Value) string {
	if unknown, ok := value.(*Unknown); ok {
		return unknown.Reason
	}
	return fmt.Sprintf("%T", value)
}

// request records one http.ExpectedResponse sent to a Gateway address.
func (r *Recorder) request(in *Interpreter, call *ast.CallExpr, addr, expected Value, scheme string, sni Value, failure bool) {
	c, err := r.baseCase(in, call, addr, scheme)
	if err == nil {
		err = fillCase(&c, expected, in.weights, failure)
	}
	if err == nil && sni != nil {
		c.Request.SNI, err = text(sni)
	}
	if err != nil {
		in.giveUp(call, err.Error())
		return
	}
	r.add(c)
}

func fillCase(c *Case, expected, weights Value, failure bool) error {
	response, ok := expected.(*Struct)
	if !ok || typeNameOf(response.Type) != "ExpectedResponse" {
		return fmt.Errorf("the expectation is not an http.ExpectedResponse the extractor can read (%s)", describeUnknown(expected))
	}
	request, err := readRequest(field(response, "Request"))
	if err != nil {
		return fmt.Errorf("Request: %w", err)
	}
	c.Request = request
	expect, err := readExpectation(response, request, c.Scheme)
	if err != nil {
		return err
	}
	expect.Failure = failure
	if weights != nil {
		if expect.Weights, err = readWeights(weights); err != nil {
			return fmt.Errorf("expected weights: %w", err)
		}
	}
	c.Expect = expect
	return nil
}

func readRequest(value Value) (RequestJSON, error) {
	var request RequestJSON
	var err error
	fields := []struct {
		name   string
		target *string
	}{{"Host", &request.Host}, {"Method", &request.Method}, {"Path", &request.Path}}
	for _, f := range fields {
		if *f.target, err = text(field(value, f.name)); err != nil {
			return request, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if request.Method == "" {
		request.Method = "GET"
	}
	request.Path, request.Query, _ = strings.Cut(request.Path, "?")
	if request.Headers, err = stringMap(field(value, "Headers")); err != nil {
		return request, fmt.Errorf("Headers: %w", err)
	}
	return request, nil
}

func readExpectation(response *Struct, request RequestJSON, scheme string) (ExpectJSON, error) {
	expect := ExpectJSON{Unchecked: uncheckedExpectations(response)}
	var err error
	if expect.Status, err = statusCodes(field(response, "Response")); err != nil {
		return expect, fmt.Errorf("Response: %w", err)
	}
	backend, err := text(field(response, "Backend"))
	if err != nil {
		return expect, fmt.Errorf("Backend: %w", err)
	}
	if backend != "" {
		expect.Backend = &backend
	}
	if expect.Namespace, err = text(field(response, "Namespace")); err != nil {
		return expect, fmt.Errorf("Namespace: %w", err)
	}
	if expect.Upstream, err = readUpstream(field(response, "ExpectedRequest"), request); err != nil {
		return expect, fmt.Errorf("ExpectedRequest: %w", err)
	}
	if expect.Redirect, err = readRedirect(field(response, "RedirectRequest"), request, scheme); err != nil {
		return expect, fmt.Errorf("RedirectRequest: %w", err)
	}
	return expect, nil
}

// statusCodes applies http.MakeRequest's defaults: StatusCode joins StatusCodes; none means 200.
func statusCodes(response Value) ([]int64, error) {
	codes := []int64{}
	if list, ok := field(response, "StatusCodes").(*Slice); ok {
		for _, code := range list.Elems {
			number, ok := code.(int64)
			if !ok {
				return nil, fmt.Errorf("a status code the extractor cannot know")
			}
			codes = append(codes, number)
		}
	}
	switch code := field(response, "StatusCode").(type) {
	case int64:
		if code != 0 && !containsCode(codes, code) {
			codes = append(codes, code)
		}
	case nil:
	default:
		return nil, fmt.Errorf("StatusCode: %s", describeUnknown(code))
	}
	if len(codes) == 0 {
		codes = append(codes, 200)
	}
	return codes, nil
}

func containsCode(codes []int64, code int64) bool {
	for _, known := range codes {
		if known == code {
			return true
		}
	}
	return false
}

// readUpstream applies CompareRoundTrip's default: without ExpectedRequest the backend sees the
// request as sent.
func readUpstream(value Value, request RequestJSON) (UpstreamJSON, error) {
	upstream := UpstreamJSON{Path: request.Path, Query: request.Query, Method: request.Method}
	if value == nil {
		return upstream, nil
	}
	expected, err := readRequest(value)
	if err != nil {
		return upstream, err
	}
	return UpstreamJSON{Path: expected.Path, Query: expected.Query, Host: expected.Host, Method: expected.Method}, nil
}

// readRedirect applies the suite's defaults: no scheme means the request's, no path the request's.
func readRedirect(value Value, request RequestJSON, scheme string) (*RedirectJSON, error) {
	if value == nil {
		return nil, nil
	}
	redirect := &RedirectJSON{}
	var err error
	fields := []struct {
		name   string
		target *string
	}{{"Scheme", &redirect.Scheme}, {"Host", &redirect.Host}, {"Port", &redirect.Port}, {"Path", &redirect.Path}}
	for _, f := range fields {
		if *f.target, err = text(field(value, f.name)); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	if redirect.Scheme == "" {
		redirect.Scheme = scheme
	}
	if redirect.Path == "" {
		redirect.Path = request.Path
	}
	return redirect, nil
}

// uncheckedExpectations names the parts of an expectation that are not about where a request goes.
func uncheckedExpectations(response *Struct) []string {
	unchecked := []string{}
	paths := map[string]Value{
		"BackendSetResponseHeaders":     field(response, "BackendSetResponseHeaders"),
		"MirroredTo":                    field(response, "MirroredTo"),
		"Response.Headers":              field(field(response, "Response"), "Headers"),
		"Response.AbsentHeaders":        field(field(response, "Response"), "AbsentHeaders"),
		"Response.ValidHeaderValues":    field(field(response, "Response"), "ValidHeaderValues"),
		"ExpectedRequest.Headers":       field(field(response, "ExpectedRequest"), "Headers"),
		"ExpectedRequest.AbsentHeaders": field(field(response, "ExpectedRequest"), "AbsentHeaders"),
		"ServerName":                    field(response, "ServerName"),
	}
	for name, value := range paths {
		if value != nil && value != "" {
			unchecked = append(unchecked, name)
		}
	}
	sort.Strings(unchecked)
	return unchecked
}

func readWeights(value Value) (map[string]float64, error) {
	weights, ok := value.(*Map)
	if !ok {
		return nil, fmt.Errorf("not a map literal")
	}
	out := map[string]float64{}
	for i, key := range weights.Keys {
		name, ok := key.(string)
		if !ok {
			return nil, fmt.Errorf("a backend name the extractor cannot know")
		}
		switch share := weights.Vals[i].(type) {
		case float64:
			out[name] = share
		case int64:
			out[name] = float64(share)
		default:
			return nil, fmt.Errorf("the share of %s", name)
		}
	}
	return out, nil
}

func text(value Value) (string, error) {
	switch value := value.(type) {
	case string:
		return value, nil
	case nil:
		return "", nil
	case *Unknown:
		return "", fmt.Errorf("%s", value.Reason)
	}
	return "", fmt.Errorf("a %T where a string was expected", value)
}

func stringMap(value Value) (map[string]string, error) {
	out := map[string]string{}
	switch value := value.(type) {
	case nil:
		return out, nil
	case *Map:
		for i, key := range value.Keys {
			name, err := text(key)
			if err != nil {
				return nil, err
			}
			if out[name], err = text(value.Vals[i]); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return out, nil
	case *Unknown:
		return nil, fmt.Errorf("%s", value.Reason)
	}
	return nil, fmt.Errorf("a %T where a map was expected", value)
}
