// Command extract reads the Gateway API conformance module (sigs.k8s.io/gateway-api/conformance, as
// `go mod download` unpacks it) and prints, as JSON, every request its HTTP conformance tests make
// together with the outcome each test expects.
//
// The expectations live in Go literals inside the tests' closures, built from shared constants,
// appended to slices and sent from loops. Rather than pattern-matching that source, the program
// parses it with go/parser and evaluates the closures with a small interpreter (interp.go) that
// knows Go's literals, constants, variables, slices, maps, loops and closures, and treats the
// suite's helpers (request makers, Gateway address lookups, object deletion) as events. Whatever it
// cannot evaluate is reported with its reason, never dropped.
//
// Usage: extract MODULE_DIR > cases.json
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const modulePath = "sigs.k8s.io/gateway-api/conformance"

// Output is the document the program prints.
type Output struct {
	Module        string       `json:"module"`
	BaseManifests []string     `json:"base_manifests"`
	Tests         []TestOutput `json:"tests"`
}

// TestOutput is one ConformanceTest: its manifests, the requests it makes and what it could not read.
type TestOutput struct {
	Name        string       `json:"name"`
	File        string       `json:"file"`
	Manifests   []string     `json:"manifests"`
	Requests    []Case       `json:"requests"`
	Unextracted []Unreadable `json:"unextracted"`
}

// Unreadable says where and why the interpreter gave up on part of a test.
type Unreadable struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: extract MODULE_DIR")
		os.Exit(2)
	}
	out, err := extract(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "extract:", err)
		os.Exit(1)
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", " ")
	if err := encoder.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "extract:", err)
		os.Exit(1)
	}
}

func extract(moduleDir string) (*Output, error) {
	if _, err := os.Stat(filepath.Join(moduleDir, "tests")); err != nil {
		return nil, fmt.Errorf("%s is not the conformance module: %w", moduleDir, err)
	}
	loader := newLoader(moduleDir)
	pkg, err := loader.load(modulePath + "/tests")
	if err != nil {
		return nil, err
	}
	out := &Output{Module: moduleDir, BaseManifests: []string{"base/manifests.yaml"}, Tests: []TestOutput{}}
	for _, name := range pkg.sortedVarNames() {
		decl := pkg.vars[name]
		if !isConformanceTest(decl) {
			continue
		}
		out.Tests = append(out.Tests, runTest(loader, pkg, name, decl))
	}
	sort.Slice(out.Tests, func(i, j int) bool { return out.Tests[i].Name < out.Tests[j].Name })
	return out, nil
}

func runTest(loader *Loader, pkg *Package, varName string, decl *topLevel) TestOutput {
	in := newInterpreter(loader, pkg.fset)
	test := TestOutput{
		Name:        varName,
		File:        relativeFile(loader.moduleDir, pkg.fset.Position(decl.expr.Pos()).Filename),
		Manifests:   []string{},
		Requests:    []Case{},
		Unextracted: []Unreadable{},
	}
	value := in.evalTopLevel(pkg, varName)
	spec, ok := value.(*Struct)
	if !ok {
		test.Unextracted = append(test.Unextracted, Unreadable{in.line(decl.expr), "the test is not a struct literal"})
		return test
	}
	if name, ok := spec.Fields["ShortName"].(string); ok {
		test.Name = name
	}
	if manifests, ok := spec.Fields["Manifests"].(*Slice); ok {
		for _, manifest := range manifests.Elems {
			if path, ok := manifest.(string); ok {
				test.Manifests = append(test.Manifests, path)
			} else {
				in.giveUp(decl.expr, "a manifest path is not a constant string")
			}
		}
	}
	body, ok := spec.Fields["Test"].(*Closure)
	if !ok {
		in.giveUp(decl.expr, "the test has no Test function literal")
	} else {
		in.call(body, []Value{&Unknown{"the test's *testing.T"}, &Unknown{"the conformance suite"}})
	}
	test.Requests = in.recorder.cases()
	test.Unextracted = append(test.Unextracted, in.unreadable...)
	return test
}

func relativeFile(moduleDir, file string) string {
	rel, err := filepath.Rel(moduleDir, file)
	if err != nil {
		return file
	}
	return filepath.ToSlash(rel)
}

// isConformanceTest says whether a package-level variable is `confsuite.ConformanceTest{...}`.
func isConformanceTest(decl *topLevel) bool {
	literal, ok := decl.expr.(*ast.CompositeLit)
	return ok && typeNameOf(exprString(literal.Type)) == "ConformanceTest"
}

// typeNameOf gives the last element of a composite literal's type name ("ExpectedResponse").
func typeNameOf(full string) string {
	if i := strings.LastIndex(full, "."); i >= 0 {
		return full[i+1:]
	}
	return full
}
