package opencl

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
	"github.com/gpuact/gpuact/kernels"
)

// deviceProgram is what every Backend on one device has in common: the OpenCL context, and the program
// built in it from kernels/activations.cl for the device's launch geometry. It is built when the first
// Backend on the device opens, and released when the last one closes; each Backend has its own queue
// and kernel objects.
type deviceProgram struct {
	lib       *cl.Lib
	dev       *deviceInfo
	ctx       cl.Context
	clProgram cl.Program     // activations.cl, built with geometry.buildOptions
	geometry  launchGeometry // the vector widths the program was built for, and how to launch it
	key       programKey
	buildLog  string // the compiler's warnings, shown in Info's details
	refs      int    // the open Backends that hold it
}

// programKey identifies a deviceProgram: the library, the device, and the geometry it is built and
// launched with (from which the build options follow).
type programKey struct {
	lib      string
	id       cl.Device
	geometry launchGeometry
}

// programs are the devicePrograms some open Backend holds.
var programs struct {
	sync.Mutex
	m map[programKey]*deviceProgram
}

// acquireProgram returns the program of dev built for geometry, building it if no open Backend holds
// it.
func acquireProgram(l *cl.Lib, dev *deviceInfo, geometry launchGeometry) (*deviceProgram, error) {
	programs.Lock()
	defer programs.Unlock()
	opts := geometry.buildOptions(dev)
	key := programKey{l.Path, dev.id, geometry}
	if p := programs.m[key]; p != nil {
		p.refs++
		return p, nil
	}
	ctx, err := l.CreateContext(dev.platform, dev.id)
	if err != nil {
		return nil, err
	}
	prog, log, err := l.BuildProgram(ctx, dev.id, []byte(kernels.OpenCL), opts)
	if err != nil {
		l.ReleaseContext(ctx)
		if log != "" {
			return nil, fmt.Errorf("building kernels/activations.cl with %q: %w\n%s", opts, err, log)
		}
		return nil, fmt.Errorf("building kernels/activations.cl with %q: %w", opts, err)
	}
	p := &deviceProgram{lib: l, dev: dev, ctx: ctx, clProgram: prog, geometry: geometry, key: key, buildLog: log, refs: 1}
	if programs.m == nil {
		programs.m = map[programKey]*deviceProgram{}
	}
	programs.m[key] = p
	return p, nil
}

// release drops one reference and frees the program and context with the last.
func (p *deviceProgram) release() error {
	programs.Lock()
	defer programs.Unlock()
	p.refs--
	if p.refs > 0 {
		return nil
	}
	delete(programs.m, p.key)
	err1 := p.lib.ReleaseProgram(p.clProgram)
	err2 := p.lib.ReleaseContext(p.ctx)
	if err1 != nil {
		return err1
	}
	return err2
}

// launchGeometry is how the kernels are compiled and launched on a device: chooseGeometry picks it from
// the device's type, and plan turns it into one launch's launchPlan.
type launchGeometry struct {
	// vwFloat and vwDouble are the vector widths: how many elements a work-item loads at once.
	vwFloat, vwDouble int
	// aligned: the *_al kernels exist and are used when every buffer starts on a vector: on GPUs they
	// give wide loads; on CPUs (PoCL) they give the bfloat16 kernels vector stores, which vstoren of a
	// ushort vector does not (PoCL 3.1 stores it one element at a time; bench/opencl-pocl.md).
	aligned bool
	// chunked: each work-item handles one contiguous chunk (CPUs, where a work-item runs on one core
	// and streams through memory); otherwise a grid-stride loop with neighbouring work-items on
	// neighbouring vectors (GPUs, where that coalesces the loads of a warp or wavefront).
	chunked bool
	// local is the work-group size (0: the driver chooses); maxItems caps the work-items of a GPU
	// launch (the grid-stride loop covers the rest).
	local    uint64
	maxItems uint64
	units    int
}

// chooseGeometry is the geometry for dev's type: cpuGeometry on a CPU, gpuGeometry on everything else.
func chooseGeometry(dev *deviceInfo) launchGeometry {
	if dev.typ == core.DeviceCPU {
		return cpuGeometry(dev)
	}
	return gpuGeometry(dev)
}

// cpuGeometry: a CPU runs a work-item's vector operations as SIMD instructions, so the vectors are the
// width it prefers (8 floats for AVX2, 16 for AVX-512), and each work-item, alone in its work-group so
// that no work-group loop is needed, handles one contiguous chunk. The aligned kernels are built where
// allocations start on the widest vector (PoCL aligns them to 128 bytes).
func cpuGeometry(dev *deviceInfo) launchGeometry {
	g := launchGeometry{
		vwFloat:  clampPow2(dev.vecFloat, 4, 16),
		vwDouble: clampPow2(dev.vecDouble, 2, 8),
		chunked:  true,
		local:    1,
		units:    max(dev.units, 1),
	}
	g.aligned = dev.baseAlign >= uint64(8*max(4*g.vwFloat, 8*g.vwDouble)) // bits
	return g
}

// gpuGeometry: 16-byte loads (float4, double2) per work-item, work-groups of 256, and a grid-stride loop
// over at most 2048 work-items per compute unit.
func gpuGeometry(dev *deviceInfo) launchGeometry {
	g := launchGeometry{vwFloat: 4, vwDouble: 2, units: max(dev.units, 1)}
	g.aligned = dev.baseAlign >= 128 // bits: allocations start on a float4 / double2
	g.local = min(256, max(dev.maxWG, 1))
	g.maxItems = uint64(g.units) * 2048
	return g
}

// clampPow2 returns the power of two nearest below v within [lo, hi].
func clampPow2(v, lo, hi int) int {
	w := lo
	for w*2 <= min(v, hi) {
		w *= 2
	}
	return w
}

// buildOptions are the options activations.cl is built with for g on dev (see its header).
func (g launchGeometry) buildOptions(dev *deviceInfo) string {
	opts := []string{fmt.Sprintf("-D VWF=%d", g.vwFloat), fmt.Sprintf("-D VWD=%d", g.vwDouble)}
	if v := openCLCVersion(dev.cVersion); v >= 12 {
		opts = append(opts, "-cl-std=CL1.2")
	}
	if dev.fp64 {
		opts = append(opts, "-D HAVE_FP64")
	}
	if g.aligned {
		opts = append(opts, "-D WITH_ALIGNED")
	}
	return strings.Join(opts, " ")
}

// openCLCVersion reads "OpenCL C 1.2 ..." as 12.
func openCLCVersion(s string) int {
	var major, minor int
	if _, err := fmt.Sscanf(s, "OpenCL C %d.%d", &major, &minor); err != nil {
		return 0
	}
	return major*10 + minor
}

// launchPlan is one kernel launch's range: global work-items in groups of local, work-item gid handling
// vecsPerItem vectors, the first at gid·itemStride and each next one loopStride further (the kernels'
// vecs_per_item, item_stride and loop_stride arguments).
type launchPlan struct {
	global, local                       uint64
	vecsPerItem, itemStride, loopStride uint64
}

// cpuChunkMin is the fewest elements a CPU work-item handles: below it the cost of a work-group
// outweighs its work.
const cpuChunkMin = 4096

// plan is the launch over n elements in vectors of vw.
func (g launchGeometry) plan(n, vw int) launchPlan {
	nvec := uint64(n / vw)
	if g.chunked {
		// Eight chunks per compute unit balance the cores; no chunk is smaller than cpuChunkMin.
		per := max((nvec+uint64(8*g.units)-1)/uint64(8*g.units), uint64(cpuChunkMin/vw))
		global := max((nvec+per-1)/per, 1)
		return launchPlan{global: global, local: g.local, vecsPerItem: per, itemStride: per, loopStride: 1}
	}
	local := max(g.local, 1)
	items := min(max(nvec, 1), max(g.maxItems, local))
	global := (items + local - 1) / local * local
	per := max((nvec+global-1)/global, 1)
	return launchPlan{global: global, local: local, vecsPerItem: per, itemStride: 1, loopStride: global}
}
