package main

import (
	"go/ast"
	"go/token"
	"strconv"
	"strings"
)

func (in *Interpreter) eval(expr ast.Expr, env *Env) Value {
	switch expr := expr.(type) {
	case *ast.BasicLit:
		return literal(expr)
	case *ast.Ident:
		return in.evalIdent(expr, env)
	case *ast.SelectorExpr:
		return in.evalSelector(expr, env)
	case *ast.CompositeLit:
		return in.composite(expr, expr.Type, env)
	case *ast.UnaryExpr:
		return in.unary(expr, env)
	case *ast.BinaryExpr:
		return binary(expr.Op, in.eval(expr.X, env), in.eval(expr.Y, env))
	case *ast.ParenExpr:
		return in.eval(expr.X, env)
	case *ast.StarExpr:
		return in.eval(expr.X, env)
	case *ast.CallExpr:
		return in.evalCall(expr, env)
	case *ast.IndexExpr:
		return in.index(expr, env)
	case *ast.FuncLit:
		return &Closure{Lit: expr, Env: env}
	case *ast.TypeAssertExpr:
		return &Unknown{"type assertion"}
	case *ast.SliceExpr:
		return &Unknown{"slice expression"}
	}
	return &Unknown{"unsupported expression " + exprString(expr)}
}

func literal(lit *ast.BasicLit) Value {
	switch lit.Kind {
	case token.STRING, token.CHAR:
		if text, err := strconv.Unquote(lit.Value); err == nil {
			return text
		}
	case token.INT:
		if number, err := strconv.ParseInt(lit.Value, 0, 64); err == nil {
			return number
		}
	case token.FLOAT:
		if number, err := strconv.ParseFloat(lit.Value, 64); err == nil {
			return number
		}
	}
	return &Unknown{"literal " + lit.Value}
}

func (in *Interpreter) evalIdent(ident *ast.Ident, env *Env) Value {
	if cell, ok := env.lookup(ident.Name); ok {
		return *cell
	}
	switch ident.Name {
	case "true":
		return true
	case "false":
		return false
	case "nil":
		return nil
	}
	if _, ok := env.pkg.vars[ident.Name]; ok {
		return in.evalTopLevel(env.pkg, ident.Name)
	}
	if decl, ok := env.pkg.funcs[ident.Name]; ok {
		return &PackageFunc{Decl: decl, Pkg: env.pkg}
	}
	return &Unknown{"identifier " + ident.Name}
}

// importedPackage gives the import path when expr names an imported package (not a local variable).
func importedPackage(expr ast.Expr, env *Env) (string, bool) {
	ident, ok := expr.(*ast.Ident)
	if !ok {
		return "", false
	}
	if _, shadowed := env.lookup(ident.Name); shadowed {
		return "", false
	}
	path, ok := env.imports[ident.Name]
	return path, ok
}

func (in *Interpreter) evalSelector(expr *ast.SelectorExpr, env *Env) Value {
	if path, ok := importedPackage(expr.X, env); ok {
		return in.packageMember(path, expr.Sel.Name)
	}
	return field(in.eval(expr.X, env), expr.Sel.Name)
}

// field reads a struct field, looking through embedded structs as Go promotes their fields (an
// embedded field is stored under its type's name).
func field(value Value, name string) Value {
	switch value := value.(type) {
	case *Struct:
		if found, ok := value.Fields[name]; ok {
			return found
		}
		for key, embedded := range value.Fields {
			if inner, ok := embedded.(*Struct); ok && typeNameOf(inner.Type) == key {
				if found, ok := inner.Fields[name]; ok {
					return found
				}
			}
		}
		return nil
	case nil:
		return nil // a field of a zero struct value is a zero value
	case *Unknown:
		return value
	case *GatewayRef:
		if name == "NamespacedName" {
			return value.NN
		}
	}
	return &Unknown{"field " + name + " of a value the extractor cannot know"}
}

func (in *Interpreter) packageMember(path, name string) Value {
	if !inModule(path) {
		return &Unknown{path + "." + name + " (outside the conformance module)"}
	}
	pkg, err := in.loader.load(path)
	if err != nil {
		return &Unknown{err.Error()}
	}
	if _, ok := pkg.vars[name]; ok {
		return in.evalTopLevel(pkg, name)
	}
	return &Unknown{path + "." + name + " is not a constant or variable"}
}

func (in *Interpreter) unary(expr *ast.UnaryExpr, env *Env) Value {
	operand := in.eval(expr.X, env)
	switch expr.Op {
	case token.AND:
		return operand // pointers are followed transparently
	case token.SUB:
		switch number := operand.(type) {
		case int64:
			return -number
		case float64:
			return -number
		}
	case token.NOT:
		if truth, ok := operand.(bool); ok {
			return !truth
		}
	}
	return &Unknown{"unary " + expr.Op.String() + " of an unknown value"}
}

func binary(op token.Token, left, right Value) Value {
	if left == nil && right == nil && (op == token.EQL || op == token.NEQ) {
		return op == token.EQL
	}
	switch l := left.(type) {
	case string:
		if r, ok := right.(string); ok {
			return compareOrJoin(op, l, r)
		}
	case int64:
		if r, ok := right.(int64); ok {
			return arithmetic(op, l, r)
		}
	case bool:
		if r, ok := right.(bool); ok {
			switch op {
			case token.LAND:
				return l && r
			case token.LOR:
				return l || r
			case token.EQL:
				return l == r
			case token.NEQ:
				return l != r
			}
		}
	}
	return &Unknown{"operator " + op.String() + " on values the extractor cannot know"}
}

func compareOrJoin(op token.Token, l, r string) Value {
	switch op {
	case token.ADD:
		return l + r
	case token.EQL:
		return l == r
	case token.NEQ:
		return l != r
	}
	return &Unknown{"string operator " + op.String()}
}

func arithmetic(op token.Token, l, r int64) Value {
	switch op {
	case token.ADD:
		return l + r
	case token.SUB:
		return l - r
	case token.MUL:
		return l * r
	case token.EQL:
		return l == r
	case token.NEQ:
		return l != r
	case token.LSS:
		return l < r
	case token.GTR:
		return l > r
	case token.LEQ:
		return l <= r
	case token.GEQ:
		return l >= r
	}
	return &Unknown{"integer operator " + op.String()}
}

func (in *Interpreter) index(expr *ast.IndexExpr, env *Env) Value {
	key := in.eval(expr.Index, env)
	switch container := in.eval(expr.X, env).(type) {
	case *Slice:
		if i, ok := key.(int64); ok && i >= 0 && int(i) < len(container.Elems) {
			return container.Elems[i]
		}
	case *Map:
		if value, ok := container.get(key); ok {
			return value
		}
		return nil
	}
	return &Unknown{"index into a value the extractor cannot know"}
}

// composite evaluates a composite literal; typ is its type, written or inherited from the enclosing
// slice or map literal when elided.
func (in *Interpreter) composite(lit *ast.CompositeLit, typ ast.Expr, env *Env) Value {
	if lit.Type != nil {
		typ = lit.Type
	}
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	switch typ := typ.(type) {
	case *ast.ArrayType:
		slice := &Slice{}
		for _, elt := range lit.Elts {
			slice.Elems = append(slice.Elems, in.element(elt, typ.Elt, env))
		}
		return slice
	case *ast.MapType:
		result := &Map{}
		for _, elt := range lit.Elts {
			pair, ok := elt.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			result.set(in.element(pair.Key, typ.Key, env), in.element(pair.Value, typ.Value, env))
		}
		return result
	}
	record := &Struct{Type: exprString(typ), Fields: map[string]Value{}}
	for i, elt := range lit.Elts {
		if pair, ok := elt.(*ast.KeyValueExpr); ok {
			if key, ok := pair.Key.(*ast.Ident); ok {
				record.Fields[key.Name] = copyValue(in.eval(pair.Value, env))
			}
			continue
		}
		record.Fields["#"+strconv.Itoa(i)] = copyValue(in.eval(elt, env))
	}
	return record
}

// element evaluates one element of a slice or map literal, whose own type may be elided.
func (in *Interpreter) element(elt ast.Expr, typ ast.Expr, env *Env) Value {
	if lit, ok := elt.(*ast.CompositeLit); ok {
		return in.composite(lit, typ, env)
	}
	if unary, ok := elt.(*ast.UnaryExpr); ok && unary.Op == token.AND {
		if lit, ok := unary.X.(*ast.CompositeLit); ok {
			return in.composite(lit, typ, env)
		}
	}
	return copyValue(in.eval(elt, env))
}

func (in *Interpreter) evalArgs(call *ast.CallExpr, env *Env) []Value {
	args := make([]Value, 0, len(call.Args))
	for i, arg := range call.Args {
		value := in.eval(arg, env)
		if call.Ellipsis.IsValid() && i == len(call.Args)-1 {
			if spread, ok := value.(*Slice); ok {
				args = append(args, spread.Elems...)
				continue
			}
		}
		args = append(args, value)
	}
	return args
}

func (in *Interpreter) evalCall(call *ast.CallExpr, env *Env) Value {
	if ident, ok := call.Fun.(*ast.Ident); ok {
		if _, local := env.lookup(ident.Name); !local {
			if result, handled := in.builtin(ident.Name, call, env); handled {
				return result
			}
		}
	}
	if selector, ok := call.Fun.(*ast.SelectorExpr); ok {
		if path, ok := importedPackage(selector.X, env); ok {
			return in.qualifiedCall(call, path, selector.Sel.Name, in.evalArgs(call, env))
		}
		return in.methodCall(call, selector, env)
	}
	callee := in.eval(call.Fun, env)
	args := in.evalArgs(call, env)
	switch callee := callee.(type) {
	case *Closure, *PackageFunc:
		return in.call(callee, args)
	}
	if len(args) == 1 {
		return args[0] // a conversion such as v1.Kind("HTTPRoute")
	}
	return in.opaqueCall(call, args, "call of "+exprString(call.Fun))
}

// opaqueCall stands for a call the interpreter does not model. Function arguments are run, because
// the suite's helpers (retry loops, convergence waits) call them.
func (in *Interpreter) opaqueCall(call *ast.CallExpr, args []Value, what string) Value {
	for _, arg := range args {
		if closure, ok := arg.(*Closure); ok {
			in.call(closure, nil)
		}
	}
	return &Unknown{what}
}

func (in *Interpreter) builtin(name string, call *ast.CallExpr, env *Env) (Value, bool) {
	switch name {
	case "append":
		args := in.evalArgs(call, env)
		base, ok := args[0].(*Slice)
		if !ok && args[0] != nil {
			return &Unknown{"append to an unknown slice"}, true
		}
		grown := &Slice{}
		if base != nil {
			grown.Elems = append(grown.Elems, base.Elems...)
		}
		for _, arg := range args[1:] {
			grown.Elems = append(grown.Elems, copyValue(arg))
		}
		return grown, true
	case "len":
		switch value := in.eval(call.Args[0], env).(type) {
		case *Slice:
			return int64(len(value.Elems)), true
		case *Map:
			return int64(len(value.Keys)), true
		case string:
			return int64(len(value)), true
		}
		return &Unknown{"len of an unknown value"}, true
	case "make":
		return zeroValue(call.Args[0]), true
	case "new":
		return zeroValue(call.Args[0]), true
	case "string", "int", "int32", "int64", "float64":
		return in.eval(call.Args[0], env), true
	}
	return nil, false
}

// qualifiedCall dispatches a call of pkg.Func: the suite's helpers are modelled, other functions of
// the module and conversions to its types are followed, anything else is opaque.
func (in *Interpreter) qualifiedCall(call *ast.CallExpr, path, name string, args []Value) Value {
	if handler, ok := suiteHelpers[helperKey(path, name)]; ok {
		return handler(in, call, args)
	}
	if path == "fmt" && name == "Sprintf" && len(args) > 0 {
		return in.sprintf(args)
	}
	if inModule(path) {
		if pkg, err := in.loader.load(path); err == nil && pkg.types[name] && len(args) == 1 {
			return args[0]
		}
		if looksLikeRequestHelper(name) {
			in.giveUp(call, "the suite helper "+path[strings.LastIndex(path, "/")+1:]+"."+name+" is not modelled")
		}
	}
	if len(args) == 1 && startsUpper(name) && !strings.Contains(path, "/utils/") && !isKnownFuncPackage(path) {
		return args[0] // a conversion to an API type, e.g. v1.SectionName("http")
	}
	return in.opaqueCall(call, args, "call of "+path+"."+name)
}

// looksLikeRequestHelper picks out the suite helpers that send traffic, so that one the extractor
// does not model is reported rather than silently skipped.
func looksLikeRequestHelper(name string) bool {
	for _, prefix := range []string{"Make", "Send", "Dial", "Expect"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return strings.Contains(name, "Request")
}

func startsUpper(name string) bool { return name != "" && strings.ToUpper(name[:1]) == name[:1] }

// isKnownFuncPackage lists standard packages whose one-argument calls are functions, not
// conversions.
func isKnownFuncPackage(path string) bool {
	switch path {
	case "fmt", "strings", "time", "errors", "context", "strconv", "net", "os", "bytes":
		return true
	}
	return false
}

func (in *Interpreter) methodCall(call *ast.CallExpr, selector *ast.SelectorExpr, env *Env) Value {
	receiver := in.eval(selector.X, env)
	args := in.evalArgs(call, env)
	owner := exprString(selector.X)
	switch {
	case selector.Sel.Name == "Run" && len(args) == 2:
		return in.subtest(args[0], args[1])
	case strings.HasSuffix(owner, "Client") && selector.Sel.Name == "Delete" && len(args) >= 2:
		in.recorder.deleteObject(in, call, args[1])
		return &Unknown{"error of Client.Delete"}
	case strings.HasSuffix(owner, "Client") && isMutation(selector.Sel.Name):
		in.recorder.mutated(in, call, owner+"."+selector.Sel.Name)
		return &Unknown{"error of " + owner + "." + selector.Sel.Name}
	case strings.HasSuffix(owner, "WebSocketDialer") && selector.Sel.Name == "Dial" && len(args) >= 1:
		in.recorder.webSocket(in, call, args[0])
		return Tuple{&Unknown{"websocket connection"}, &Unknown{"dial error"}}
	}
	if closure, ok := receiver.(*Closure); ok {
		return in.call(closure, args)
	}
	return in.opaqueCall(call, args, "method "+owner+"."+selector.Sel.Name)
}

func isMutation(method string) bool {
	switch method {
	case "Create", "Update", "Patch", "DeleteAllOf":
		return true
	}
	return false
}

func (in *Interpreter) subtest(name, body Value) Value {
	label, ok := name.(string)
	if !ok {
		label = "?"
	}
	in.subtests = append(in.subtests, label)
	defer func() { in.subtests = in.subtests[:len(in.subtests)-1] }()
	in.call(body, []Value{&Unknown{"the subtest's *testing.T"}})
	return &Unknown{"result of t.Run"}
}
