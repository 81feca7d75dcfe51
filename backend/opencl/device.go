package opencl

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/gpuact/gpuact/backend/core"
	"github.com/gpuact/gpuact/backend/formula"
	"github.com/gpuact/gpuact/backend/opencl/internal/cl"
)

// The OpenCL library is loaded once per value of GPUACT_OPENCL_LIBRARY (normally once per process):
// the candidates are part of the cache key so that a test can point the variable elsewhere.
var lib struct {
	sync.Mutex
	key string
	l   *cl.Lib
	err error
}

func library() (*cl.Lib, error) {
	names := cl.Candidates()
	key := strings.Join(names, "\x00")
	lib.Lock()
	defer lib.Unlock()
	if lib.key != key || (lib.l == nil && lib.err == nil) {
		lib.key = key
		lib.l, lib.err = cl.Load(names)
	}
	return lib.l, lib.err
}

// deviceInfo is what discovery learns about one device: enough to list it, open it and describe it.
type deviceInfo struct {
	platform    cl.Platform
	id          cl.Device
	p, d        int
	spec        string
	typ         core.DeviceType
	name        string
	vendor      string
	driver      string
	memory      int64
	maxAlloc    int64
	units       int
	fp64        bool
	denormals   bool
	fma         bool
	usable      bool
	reason      string
	baseAlign   uint64 // CL_DEVICE_MEM_BASE_ADDR_ALIGN, in bits
	maxWG       uint64
	vecFloat    int // CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT
	vecDouble   int
	cVersion    string
	extensions  string
	platformStr string
	details     map[string]string
}

// discovery serialises discover: no two discoveries run at once in a process.
//
// The first OpenCL calls of a process make the driver initialise its devices, and PoCL 3.1 does not
// make other threads wait for that: a thread that asks for the devices while another is still inside
// PoCL's one-time device initialisation (its re-entry guard is a flag read without a lock) is told it
// succeeded and gets handles to devices whose fields are not filled in yet, and
// clGetDeviceInfo(CL_DEVICE_NAME) on one of them runs strlen on a NULL name: SIGSEGV (seen in a core
// dump, the other thread in the pthread device's hwloc topology probe). Which entry point starts the
// initialisation differs between drivers and loaders, so the lock is around discovery as a whole, not
// around single calls: every other OpenCL call of this package uses handles that a discovery
// returned, so once one discovery has finished the driver's initialisation has too. Later discoveries
// also take turns; each takes a few milliseconds.
var discovery sync.Mutex

// dtypes are the dtypes the device computes: float32, float16 and bfloat16 always (the 16-bit kernels
// need nothing beyond OpenCL 1.2 core: vload_half/vstore_half and integer operations), float64 with
// cl_khr_fp64.
func (dev *deviceInfo) dtypes() formula.DTypeSet {
	s := formula.SetOf(formula.Float32, formula.Float16, formula.BFloat16)
	if dev.fp64 {
		s |= formula.SetOf(formula.Float64)
	}
	return s
}

// discover lists every device of every platform. A failure to search (no library, no platform) is an
// error that says why; a device that cannot be used is listed with its reason. It is safe to call
// concurrently (see discovery).
func discover() ([]*deviceInfo, *cl.Lib, error) {
	discovery.Lock()
	defer discovery.Unlock()
	l, err := library()
	if err != nil {
		return nil, nil, fmt.Errorf("no OpenCL library could be loaded (install an OpenCL driver and ICD loader, e.g. ocl-icd-libopencl1, or set %s): %v", cl.LibraryEnv, err)
	}
	plats, err := l.Platforms()
	if err != nil {
		var ce *cl.Error
		if errors.As(err, &ce) && ce.Code == cl.PlatformNotFoundKHR {
			return nil, l, fmt.Errorf("%s found no OpenCL platform (no driver registered in /etc/OpenCL/vendors or OCL_ICD_VENDORS): %v", l.Path, err)
		}
		return nil, l, fmt.Errorf("%s: listing platforms: %v", l.Path, err)
	}
	if len(plats) == 0 {
		return nil, l, fmt.Errorf("%s found no OpenCL platform (no driver registered in /etc/OpenCL/vendors or OCL_ICD_VENDORS)", l.Path)
	}
	var devs []*deviceInfo
	for pi, p := range plats {
		ids, err := l.Devices(p, cl.DeviceTypeAll)
		if err != nil {
			devs = append(devs, &deviceInfo{p: pi, d: -1, spec: "opencl:" + strconv.Itoa(pi), reason: "listing devices: " + err.Error()})
			continue
		}
		for di, id := range ids {
			devs = append(devs, probe(l, pi, di, p, id))
		}
	}
	if len(devs) == 0 {
		return nil, l, fmt.Errorf("%s: %d OpenCL platform(s) but no device", l.Path, len(plats))
	}
	return devs, l, nil
}

// probe reads a device's properties. Any query that fails makes the device unusable with that reason.
func probe(l *cl.Lib, pi, di int, p cl.Platform, id cl.Device) *deviceInfo {
	dev := &deviceInfo{platform: p, id: id, p: pi, d: di, spec: fmt.Sprintf("opencl:%d:%d", pi, di), details: map[string]string{}}
	var errs []string
	str := func(param uint32) string {
		s, err := l.DeviceString(id, param)
		if err != nil {
			errs = append(errs, err.Error())
		}
		return s
	}
	num := func(param uint32) uint64 {
		v, err := l.DeviceUint(id, param)
		if err != nil {
			errs = append(errs, err.Error())
		}
		return v
	}
	dev.name = str(cl.DeviceName)
	dev.vendor = str(cl.DeviceVendor)
	dev.driver = str(cl.DriverVersion)
	dev.cVersion = str(cl.DeviceOpenCLCVersion)
	dev.extensions = str(cl.DeviceExtensions)
	switch t := num(cl.DeviceType); {
	case t&cl.DeviceTypeGPU != 0:
		dev.typ = core.DeviceGPU
	case t&cl.DeviceTypeAccelerator != 0:
		dev.typ = core.DeviceAccelerator
	case t&cl.DeviceTypeCPU != 0:
		dev.typ = core.DeviceCPU
	default:
		dev.typ = core.DeviceOther
	}
	dev.memory = int64(num(cl.DeviceGlobalMemSize))
	dev.maxAlloc = int64(num(cl.DeviceMaxMemAllocSize))
	dev.units = int(num(cl.DeviceMaxComputeUnits))
	dev.baseAlign = num(cl.DeviceMemBaseAddrAlign)
	dev.maxWG = num(cl.DeviceMaxWorkGroupSize)
	dev.vecFloat = int(num(cl.DevicePreferredVectorWidthFlt))
	dev.vecDouble = int(num(cl.DevicePreferredVectorWidthDbl))
	single := num(cl.DeviceSingleFPConfig)
	dev.denormals = single&cl.FPDenorm != 0
	dev.fma = single&cl.FPFMA != 0
	if hasExtension(dev.extensions, "cl_khr_fp64") {
		// CL_DEVICE_DOUBLE_FP_CONFIG is 0 on devices without double; only ask where the extension is.
		dbl, err := l.DeviceUint(id, cl.DeviceDoubleFPConfig)
		dev.fp64 = err == nil && dbl != 0
	}
	available := num(cl.DeviceAvailable) != 0
	compiler := num(cl.DeviceCompilerAvailable) != 0
	if ps, err := l.PlatformString(p, cl.PlatformName); err == nil {
		dev.platformStr = ps
		if pv, err := l.PlatformString(p, cl.PlatformVersion); err == nil {
			dev.platformStr += ", " + pv
		}
	}
	if c := num(cl.DeviceGlobalMemCacheSize); c > 0 {
		// The last cache global loads go through, as the driver reports it: gpubench rotates buffers
		// smaller than this so that it measures memory, not cache.
		dev.details[core.DetailCacheBytes] = strconv.FormatUint(c, 10)
	}
	dev.details["platform"] = dev.platformStr
	dev.details["device version"] = str(cl.DeviceVersion)
	dev.details["opencl c"] = dev.cVersion
	dev.details["max allocation"] = strconv.FormatInt(dev.maxAlloc, 10)
	dev.details["max work-group size"] = strconv.FormatUint(dev.maxWG, 10)
	dev.details["clock MHz"] = strconv.FormatUint(num(cl.DeviceMaxClockFrequency), 10)
	dev.details["fma"] = strconv.FormatBool(dev.fma)
	dev.details["library"] = l.Path
	if hasExtension(dev.extensions, "cl_nv_device_attribute_query") {
		maj, err1 := l.DeviceUint(id, cl.DeviceComputeCapabilityMajorNV)
		minor, err2 := l.DeviceUint(id, cl.DeviceComputeCapabilityMinorNV)
		if err1 == nil && err2 == nil {
			dev.details[core.DetailComputeCapability] = fmt.Sprintf("%d.%d", maj, minor)
		}
	}
	if hasExtension(dev.extensions, "cl_amd_device_attribute_query") {
		if s, err := l.DeviceString(id, cl.DeviceBoardNameAMD); err == nil && s != "" {
			dev.details["board"] = s
		}
	}
	switch {
	case len(errs) > 0:
		dev.reason = "querying the device: " + strings.Join(errs, "; ")
	case !available:
		dev.reason = "the driver reports the device unavailable (CL_DEVICE_AVAILABLE is false)"
	case !compiler:
		dev.reason = "the driver has no OpenCL C compiler for the device (CL_DEVICE_COMPILER_AVAILABLE is false)"
	case dev.units <= 0 || dev.memory <= 0:
		dev.reason = "the driver reports no compute units or no memory"
	default:
		dev.usable = true
	}
	return dev
}

func hasExtension(list, ext string) bool {
	for _, e := range strings.Fields(list) {
		if e == ext {
			return true
		}
	}
	return false
}

// Devices is the OpenCL backend's entry in backend.List: every device of every platform as
// "opencl:P:D", or one unusable entry with Spec "opencl" saying why none could be found.
func Devices() []core.Device {
	devs, l, err := discover()
	if err != nil {
		return []core.Device{{Spec: "opencl", Platform: core.PlatformOpenCL, Reason: err.Error()}}
	}
	out := make([]core.Device, 0, len(devs))
	for _, dev := range devs {
		d := core.Device{Spec: dev.spec, Platform: core.PlatformOpenCL, Type: dev.typ, Name: dev.name, Usable: dev.usable, Reason: dev.reason}
		if dev.usable {
			dev := dev
			d.Open = func() (core.Backend, error) { return open(l, dev) }
		}
		out = append(out, d)
	}
	return out
}

// Open opens device d of platform p ("opencl:p:d"). A machine without OpenCL, or without that device,
// gives core.ErrUnavailable with the reason.
func Open(p, d int) (*Backend, error) {
	spec := fmt.Sprintf("opencl:%d:%d", p, d)
	devs, l, err := discover()
	if err != nil {
		return nil, core.Errorf(core.ErrUnavailable, spec, "Open", "", "%v", err)
	}
	for _, dev := range devs {
		if dev.p != p || dev.d != d {
			continue
		}
		if !dev.usable {
			return nil, core.Errorf(core.ErrUnavailable, spec, "Open", "", "%s: %s", dev.name, dev.reason)
		}
		return open(l, dev)
	}
	var have []string
	for _, dev := range devs {
		have = append(have, dev.spec)
	}
	return nil, core.Errorf(core.ErrUnavailable, spec, "Open", "", "no such device (found %s)", strings.Join(have, ", "))
}
