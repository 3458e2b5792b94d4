package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"sort"
	"strconv"
	"strings"
)

// Value is what an expression evaluates to: string, int64, float64, bool, nil (a Go zero value whose
// type is unknown) or one of the types below.
type Value any

// Unknown is a value the interpreter cannot know (a cluster lookup, an error, a parameter).
type Unknown struct{ Reason string }

// Struct is a struct literal; Type is its type as written ("http.ExpectedResponse").
type Struct struct {
	Type   string
	Fields map[string]Value
}

// Slice is a slice or array value.
type Slice struct{ Elems []Value }

// Map keeps insertion order so that output is stable.
type Map struct {
	Keys []Value
	Vals []Value
}

// Closure is a function literal with the variables it captured.
type Closure struct {
	Lit *ast.FuncLit
	Env *Env
}

// PackageFunc is a function declared in the tests package, evaluated like a closure.
type PackageFunc struct {
	Decl *ast.FuncDecl
	Pkg  *Package
}

// GatewayRef is kubernetes.NewGatewayRef(namespacedName, listenerNames...).
type GatewayRef struct {
	NN        Value
	Listeners []string
}

// GatewayAddr is the address a test obtained for a Gateway (or some of its listeners).
type GatewayAddr struct {
	Ref *GatewayRef
	ID  int
}

// Sender is weight.NewFunctionBasedSender(fn): fn sends one request of a weighted distribution.
type Sender struct{ Fn Value }

// Tuple is the result of a call that returns several values.
type Tuple []Value

// Env is one lexical scope; the root scope of a function knows its package and imports.
type Env struct {
	vars    map[string]*Value
	parent  *Env
	pkg     *Package
	imports map[string]string
}

func (e *Env) lookup(name string) (*Value, bool) {
	for scope := e; scope != nil; scope = scope.parent {
		if cell, ok := scope.vars[name]; ok {
			return cell, true
		}
	}
	return nil, false
}

func (e *Env) define(name string, value Value) {
	if name == "_" {
		return
	}
	cell := value
	e.vars[name] = &cell
}

func (e *Env) child() *Env {
	return &Env{vars: map[string]*Value{}, parent: e, pkg: e.pkg, imports: e.imports}
}

type control int

const (
	flowNormal control = iota
	flowReturn
	flowBreak
	flowContinue
)

const maxCallDepth = 32

// Interpreter evaluates one conformance test's closure.
type Interpreter struct {
	loader     *Loader
	fset       *token.FileSet
	recorder   *Recorder
	unreadable []Unreadable
	subtests   []string
	weights    Value // the expected distribution while a weighted sender runs
	depth      int
	returned   Value
	addresses  []*GatewayAddr
}

func newInterpreter(loader *Loader, fset *token.FileSet) *Interpreter {
	return &Interpreter{loader: loader, fset: fset, recorder: newRecorder()}
}

func (in *Interpreter) line(node ast.Node) int { return in.fset.Position(node.Pos()).Line }

func (in *Interpreter) giveUp(node ast.Node, reason string) {
	for _, known := range in.unreadable {
		if known.Line == in.line(node) && known.Reason == reason {
			return
		}
	}
	in.unreadable = append(in.unreadable, Unreadable{in.line(node), reason})
}

// evalTopLevel evaluates a package-level constant or variable once.
func (in *Interpreter) evalTopLevel(pkg *Package, name string) Value {
	decl := pkg.vars[name]
	switch decl.state {
	case 2:
		return decl.value
	case 1:
		return &Unknown{"the initialisation of " + name + " refers to itself"}
	}
	decl.state = 1
	if decl.expr == nil {
		decl.value = &Unknown{name + " has no initialiser (iota or zero value)"}
	} else {
		env := &Env{vars: map[string]*Value{}, pkg: pkg, imports: decl.imports}
		decl.value = in.eval(decl.expr, env)
	}
	decl.state = 2
	return decl.value
}

// call runs a closure or package function with the given arguments and returns its result.
func (in *Interpreter) call(fn Value, args []Value) Value {
	var params *ast.FieldList
	var body *ast.BlockStmt
	var env *Env
	switch fn := fn.(type) {
	case *Closure:
		params, body, env = fn.Lit.Type.Params, fn.Lit.Body, fn.Env.child()
	case *PackageFunc:
		params, body = fn.Decl.Type.Params, fn.Decl.Body
		env = &Env{vars: map[string]*Value{}, pkg: fn.Pkg, imports: fn.Pkg.imports[fn.Decl]}
	default:
		return &Unknown{"call of a value that is not a function"}
	}
	if body == nil || in.depth >= maxCallDepth {
		return &Unknown{"function without body or nested too deep"}
	}
	in.bindParams(env, params, args)
	in.depth++
	defer func() { in.depth-- }()
	saved := in.returned
	in.returned = nil
	in.execBlock(body.List, env)
	result := in.returned
	in.returned = saved
	return result
}

func (in *Interpreter) bindParams(env *Env, params *ast.FieldList, args []Value) {
	index := 0
	for _, field := range params.List {
		_, variadic := field.Type.(*ast.Ellipsis)
		for _, name := range field.Names {
			var value Value = &Unknown{"parameter " + name.Name}
			switch {
			case variadic:
				value = &Slice{Elems: append([]Value{}, args[min(index, len(args)):]...)}
			case index < len(args):
				value = args[index]
			}
			env.define(name.Name, value)
			index++
		}
	}
}

func (in *Interpreter) execBlock(stmts []ast.Stmt, env *Env) control {
	for _, stmt := range stmts {
		if flow := in.exec(stmt, env); flow != flowNormal {
			return flow
		}
	}
	return flowNormal
}

func (in *Interpreter) exec(stmt ast.Stmt, env *Env) control {
	switch stmt := stmt.(type) {
	case *ast.ExprStmt:
		in.eval(stmt.X, env)
	case *ast.AssignStmt:
		in.assign(stmt, env)
	case *ast.DeclStmt:
		in.declare(stmt, env)
	case *ast.BlockStmt:
		return in.execBlock(stmt.List, env.child())
	case *ast.IfStmt:
		return in.execIf(stmt, env.child())
	case *ast.RangeStmt:
		return in.execRange(stmt, env)
	case *ast.ReturnStmt:
		in.returned = in.results(stmt.Results, env)
		return flowReturn
	case *ast.BranchStmt:
		return in.branch(stmt)
	case *ast.IncDecStmt:
		in.incDec(stmt, env)
	case *ast.LabeledStmt:
		return in.exec(stmt.Stmt, env)
	case *ast.DeferStmt:
		// Deferred calls are cleanups (cancel, Close); they make no requests in these tests.
		in.refuseRequests(stmt, "a deferred call")
	case *ast.EmptyStmt:
	default:
		in.refuseRequests(stmt, fmt.Sprintf("a %T statement", stmt))
	}
	return flowNormal
}

func (in *Interpreter) branch(stmt *ast.BranchStmt) control {
	if stmt.Label != nil {
		in.giveUp(stmt, "a labelled "+stmt.Tok.String())
	}
	switch stmt.Tok {
	case token.BREAK:
		return flowBreak
	case token.CONTINUE:
		return flowContinue
	default:
		in.giveUp(stmt, stmt.Tok.String())
		return flowReturn
	}
}

// refuseRequests reports a construct the interpreter does not run when it would make a request.
func (in *Interpreter) refuseRequests(node ast.Node, what string) {
	if makesRequest(node) {
		in.giveUp(node, what+" makes requests the extractor cannot follow")
	}
}

// makesRequest says whether a piece of syntax calls one of the suite's request makers.
func makesRequest(node ast.Node) bool {
	found := false
	ast.Inspect(node, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if selector, ok := call.Fun.(*ast.SelectorExpr); ok && requestMakers[selector.Sel.Name] {
				found = true
			}
		}
		return !found
	})
	return found
}

var requestMakers = map[string]bool{
	"MakeRequestAndExpectEventuallyConsistentResponse":    true,
	"MakeTLSRequestAndExpectEventuallyConsistentResponse": true,
	"MakeRequestAndExpectFailure":                         true,
	"MakeRequest":                                         true,
	"Dial":                                                true,
	"TestWeightedDistribution":                            true,
}

func (in *Interpreter) execIf(stmt *ast.IfStmt, env *Env) control {
	if stmt.Init != nil {
		in.exec(stmt.Init, env)
	}
	condition, known := in.eval(stmt.Cond, env).(bool)
	if !known {
		in.refuseRequests(stmt.Body, "a condition the extractor cannot decide")
		if stmt.Else != nil {
			in.refuseRequests(stmt.Else, "a condition the extractor cannot decide")
		}
		return flowNormal
	}
	if condition {
		return in.execBlock(stmt.Body.List, env.child())
	}
	if stmt.Else != nil {
		return in.exec(stmt.Else, env)
	}
	return flowNormal
}

func (in *Interpreter) execRange(stmt *ast.RangeStmt, env *Env) control {
	keys, values, ok := in.rangeOver(in.eval(stmt.X, env))
	if !ok {
		in.refuseRequests(stmt.Body, "a loop over a value the extractor cannot know")
		return flowNormal
	}
	for i := range keys {
		scope := env.child()
		if stmt.Tok == token.DEFINE {
			in.defineRangeVars(stmt, scope, keys[i], values[i])
		} else {
			in.storeRangeVars(stmt, env, keys[i], values[i])
		}
		switch in.execBlock(stmt.Body.List, scope) {
		case flowBreak:
			return flowNormal
		case flowReturn:
			return flowReturn
		}
	}
	return flowNormal
}

func (in *Interpreter) defineRangeVars(stmt *ast.RangeStmt, scope *Env, key, value Value) {
	if ident, ok := stmt.Key.(*ast.Ident); ok {
		scope.define(ident.Name, key)
	}
	if ident, ok := stmt.Value.(*ast.Ident); ok {
		scope.define(ident.Name, copyValue(value))
	}
}

func (in *Interpreter) storeRangeVars(stmt *ast.RangeStmt, env *Env, key, value Value) {
	if stmt.Key != nil {
		in.store(stmt.Key, key, env)
	}
	if stmt.Value != nil {
		in.store(stmt.Value, copyValue(value), env)
	}
}

// rangeOver lists what a range loop visits: slice indices and elements, map keys (sorted) and
// values, or 0..n-1 for an integer.
func (in *Interpreter) rangeOver(value Value) (keys, values []Value, ok bool) {
	switch value := value.(type) {
	case *Slice:
		for i, elem := range value.Elems {
			keys, values = append(keys, int64(i)), append(values, elem)
		}
		return keys, values, true
	case *Map:
		order := make([]int, len(value.Keys))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool {
			return fmt.Sprint(value.Keys[order[a]]) < fmt.Sprint(value.Keys[order[b]])
		})
		for _, i := range order {
			keys, values = append(keys, value.Keys[i]), append(values, value.Vals[i])
		}
		return keys, values, true
	case int64:
		for i := int64(0); i < value; i++ {
			keys, values = append(keys, i), append(values, nil)
		}
		return keys, values, true
	case nil:
		return nil, nil, true
	}
	return nil, nil, false
}

func (in *Interpreter) incDec(stmt *ast.IncDecStmt, env *Env) {
	current, ok := in.eval(stmt.X, env).(int64)
	if !ok {
		in.store(stmt.X, &Unknown{"increment of an unknown value"}, env)
		return
	}
	if stmt.Tok == token.INC {
		current++
	} else {
		current--
	}
	in.store(stmt.X, current, env)
}

func (in *Interpreter) results(exprs []ast.Expr, env *Env) Value {
	switch len(exprs) {
	case 0:
		return nil
	case 1:
		return in.eval(exprs[0], env)
	}
	tuple := make(Tuple, len(exprs))
	for i, expr := range exprs {
		tuple[i] = in.eval(expr, env)
	}
	return tuple
}

func (in *Interpreter) assign(stmt *ast.AssignStmt, env *Env) {
	values := in.rightHandSides(stmt, env)
	for i, target := range stmt.Lhs {
		value := values[i]
		if stmt.Tok != token.DEFINE && stmt.Tok != token.ASSIGN {
			value = binary(operatorOf(stmt.Tok), in.eval(target, env), value)
		}
		ident, isIdent := target.(*ast.Ident)
		if stmt.Tok == token.DEFINE && isIdent {
			if _, exists := env.vars[ident.Name]; !exists {
				env.define(ident.Name, value)
				continue
			}
		}
		in.store(target, value, env)
	}
}

func (in *Interpreter) rightHandSides(stmt *ast.AssignStmt, env *Env) []Value {
	values := make([]Value, len(stmt.Lhs))
	if len(stmt.Rhs) == len(stmt.Lhs) {
		for i, expr := range stmt.Rhs {
			values[i] = copyValue(in.eval(expr, env))
		}
		return values
	}
	result := in.eval(stmt.Rhs[0], env)
	tuple, ok := result.(Tuple)
	for i := range values {
		if ok && i < len(tuple) {
			values[i] = tuple[i]
		} else {
			values[i] = &Unknown{"one of several results of " + exprString(stmt.Rhs[0])}
		}
	}
	return values
}

// operatorOf maps an assignment operator (+=) to its binary operator (+).
func operatorOf(tok token.Token) token.Token {
	switch tok {
	case token.ADD_ASSIGN:
		return token.ADD
	case token.SUB_ASSIGN:
		return token.SUB
	case token.MUL_ASSIGN:
		return token.MUL
	default:
		return token.ILLEGAL
	}
}

// store writes to a variable, a struct field or a map/slice element.
func (in *Interpreter) store(target ast.Expr, value Value, env *Env) {
	switch target := target.(type) {
	case *ast.Ident:
		if target.Name == "_" {
			return
		}
		if cell, ok := env.lookup(target.Name); ok {
			*cell = value
			return
		}
		in.giveUp(target, "assignment to "+target.Name+", which is not a local variable")
	case *ast.SelectorExpr:
		if record, ok := in.eval(target.X, env).(*Struct); ok {
			record.Fields[target.Sel.Name] = value
		}
	case *ast.IndexExpr:
		in.storeIndexed(target, value, env)
	case *ast.StarExpr:
		in.store(target.X, value, env)
	case *ast.ParenExpr:
		in.store(target.X, value, env)
	}
}

func (in *Interpreter) storeIndexed(target *ast.IndexExpr, value Value, env *Env) {
	key := in.eval(target.Index, env)
	switch container := in.eval(target.X, env).(type) {
	case *Map:
		container.set(key, value)
	case *Slice:
		if i, ok := key.(int64); ok && i >= 0 && int(i) < len(container.Elems) {
			container.Elems[i] = value
		}
	}
}

func (in *Interpreter) declare(stmt *ast.DeclStmt, env *Env) {
	general, ok := stmt.Decl.(*ast.GenDecl)
	if !ok {
		return
	}
	for _, spec := range general.Specs {
		valueSpec, ok := spec.(*ast.ValueSpec)
		if !ok {
			continue
		}
		for i, name := range valueSpec.Names {
			var value Value
			if i < len(valueSpec.Values) {
				value = copyValue(in.eval(valueSpec.Values[i], env))
			} else {
				value = zeroValue(valueSpec.Type)
			}
			env.define(name.Name, value)
		}
	}
}

// zeroValue is the zero value of a declared type, as far as the interpreter tracks types.
func zeroValue(typ ast.Expr) Value {
	switch typ := typ.(type) {
	case *ast.ArrayType:
		return &Slice{}
	case *ast.MapType:
		return &Map{}
	case *ast.Ident:
		switch typ.Name {
		case "string":
			return ""
		case "int", "int32", "int64", "uint", "uint32", "uint64":
			return int64(0)
		case "float64", "float32":
			return float64(0)
		case "bool":
			return false
		}
		return &Struct{Type: typ.Name, Fields: map[string]Value{}}
	case *ast.SelectorExpr:
		return &Struct{Type: exprString(typ), Fields: map[string]Value{}}
	}
	return nil
}

// copyValue gives struct values Go's copy-on-assignment semantics; slices and maps stay shared.
func copyValue(value Value) Value {
	record, ok := value.(*Struct)
	if !ok {
		return value
	}
	fields := make(map[string]Value, len(record.Fields))
	for name, field := range record.Fields {
		fields[name] = copyValue(field)
	}
	return &Struct{Type: record.Type, Fields: fields}
}

func (m *Map) get(key Value) (Value, bool) {
	for i, known := range m.Keys {
		if known == key {
			return m.Vals[i], true
		}
	}
	return nil, false
}

func (m *Map) set(key, value Value) {
	for i, known := range m.Keys {
		if known == key {
			m.Vals[i] = value
			return
		}
	}
	m.Keys = append(m.Keys, key)
	m.Vals = append(m.Vals, value)
}

// describe renders a value for fmt.Sprintf; a Gateway address becomes a placeholder the recorder
// resolves back to the Gateway.
func (in *Interpreter) describe(value Value) (string, bool) {
	switch value := value.(type) {
	case string:
		return value, true
	case int64:
		return strconv.FormatInt(value, 10), true
	case float64:
		return strconv.FormatFloat(value, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(value), true
	case *GatewayAddr:
		return gatewayPlaceholder(value.ID), true
	}
	return "", false
}

func gatewayPlaceholder(id int) string { return fmt.Sprintf("{gateway-address-%d}", id) }

// sprintf implements the verbs the tests use (%s, %d, %v, %q, %%) on known values.
func (in *Interpreter) sprintf(args []Value) Value {
	format, ok := args[0].(string)
	if !ok {
		return &Unknown{"fmt.Sprintf with a format that is not a constant"}
	}
	var out strings.Builder
	next := 1
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			out.WriteByte(format[i])
			continue
		}
		i++
		verb := format[i]
		if verb == '%' {
			out.WriteByte('%')
			continue
		}
		if next >= len(args) || !strings.ContainsRune("sdvq", rune(verb)) {
			return &Unknown{"fmt.Sprintf verb %" + string(verb)}
		}
		text, known := in.describe(args[next])
		if !known {
			return &Unknown{"fmt.Sprintf of an unknown value"}
		}
		if verb == 'q' {
			text = strconv.Quote(text)
		}
		out.WriteString(text)
		next++
	}
	return out.String()
}
