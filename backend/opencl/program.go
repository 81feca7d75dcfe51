package opencl

import (
	"fmt"
	"strings"
	"sync"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
	"github.com/gpuact/gpuact/kernels"
)

// shared is what every Backend on one device has in common: the context and the program built from
// kernels/activations.cl. It is built once, when the first Backend on the device opens, and released
// when the last one closes; each Backend has its own queue and kernel objects.
type shared struct {
	lib  *cl.Lib
	dev  *deviceInfo
	ctx  cl.Context
	prog cl.Program
	geo  geometry
	key  sharedKey
	log  string // the build log (warnings), shown in Info's details
	refs int
}

type sharedKey struct {
	lib     string
	id      cl.Device
	options string
}

var programs struct {
	sync.Mutex
	m map[sharedKey]*shared
}

// acquire returns the shared state of dev, building it if no open Backend holds it.
func acquire(l *cl.Lib, dev *deviceInfo) (*shared, error) {
	programs.Lock()
	defer programs.Unlock()
	geo := chooseGeometry(dev)
	opts := geo.buildOptions(dev)
	key := sharedKey{l.Path, dev.id, opts}
	if s := programs.m[key]; s != nil {
		s.refs++
		return s, nil
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
	s := &shared{lib: l, dev: dev, ctx: ctx, prog: prog, geo: geo, key: key, log: log, refs: 1}
	if programs.m == nil {
		programs.m = map[sharedKey]*shared{}
	}
	programs.m[key] = s
	return s, nil
}

// release drops one reference and frees the program and context with the last.
func (s *shared) release() error {
	programs.Lock()
	defer programs.Unlock()
	s.refs--
	if s.refs > 0 {
		return nil
	}
	delete(programs.m, s.key)
	err1 := s.lib.ReleaseProgram(s.prog)
	err2 := s.lib.ReleaseContext(s.ctx)
	if err1 != nil {
		return err1
	}
	return err2
}

// geometry is how the kernels are compiled and launched on a device.
type geometry struct {
	// vwFloat and vwDouble are the vector widths: how many elements a work-item loads at once.
	vwFloat, vwDouble int
	// aligned: the *_al kernels exist (GPUs) and are used when every buffer starts on a vector.
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

// gpuLayout, when set (by tests), gives every device the GPU geometry, so that the kernels and launch
// shape GPUs use also run, and are checked, on a CPU OpenCL device such as PoCL.
var gpuLayout bool

func chooseGeometry(dev *deviceInfo) geometry {
	g := geometry{vwFloat: 4, vwDouble: 2, units: max(dev.units, 1)}
	if dev.typ == core.DeviceCPU && !gpuLayout {
		// A CPU runs a work-item's vector operations as SIMD instructions: use the width it prefers
		// (8 floats for AVX2, 16 for AVX-512) and one work-item per work-group, so that no
		// work-group loop is needed.
		g.vwFloat = clampPow2(dev.vecFloat, 4, 16)
		g.vwDouble = clampPow2(dev.vecDouble, 2, 8)
		g.chunked = true
		g.local = 1
		return g
	}
	// GPUs: 16-byte loads (float4, double2) per work-item, work-groups of 256.
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

func (g geometry) buildOptions(dev *deviceInfo) string {
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

// launch is one kernel launch's range: global work-items in groups of local, each handling per
// vectors, the first at gid·wiStep and the next jStep further.
type launch struct {
	global, local, per, wiStep, jStep uint64
}

// cpuChunkMin is the fewest elements a CPU work-item handles: below it the cost of a work-group
// outweighs its work.
const cpuChunkMin = 4096

func (g geometry) plan(n, vw int) launch {
	nvec := uint64(n / vw)
	if g.chunked {
		// Eight chunks per compute unit balance the cores; no chunk is smaller than cpuChunkMin.
		per := max((nvec+uint64(8*g.units)-1)/uint64(8*g.units), uint64(cpuChunkMin/vw))
		global := max((nvec+per-1)/per, 1)
		return launch{global: global, local: g.local, per: per, wiStep: per, jStep: 1}
	}
	local := max(g.local, 1)
	items := min(max(nvec, 1), max(g.maxItems, local))
	global := (items + local - 1) / local * local
	per := max((nvec+global-1)/global, 1)
	return launch{global: global, local: local, per: per, wiStep: 1, jStep: global}
}
