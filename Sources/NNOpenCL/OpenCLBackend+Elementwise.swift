import NNCore

/// One kernel per op in `Kernels/elementwise.cl`, in the backend's shape (``MemoryKernelFamily``).
extension OpenCLBackend {
    public func uncheckedFill(_ x: Tensor, with value: Float) throws {
        let memX = try mem(x, "fill")
        try locked { try launchElementwise(.fill, .fillV4, [.buffer(memX), .float(value), .int(x.count)], count: x.count) }
    }

    public func uncheckedCopy(_ from: Tensor, to: Tensor) throws {
        guard from.storage !== to.storage else { return }  // a copy onto itself (e.g. a reshaped view) changes nothing
        let (source, target) = (try mem(from, "copy"), try mem(to, "copy"))
        try locked { try launchElementwise(.copy, .copyV4, [.buffer(source), .buffer(target), .int(from.count)], count: from.count) }
    }

    public func uncheckedScale(_ x: Tensor, by alpha: Float) throws {
        let memX = try mem(x, "scale")
        try locked { try launchElementwise(.scale, .scaleV4, [.buffer(memX), .float(alpha), .int(x.count)], count: x.count) }
    }

    public func uncheckedAxpy(alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        let (memX, memY) = (try mem(x, "axpy"), try mem(y, "axpy"))
        try locked { try launchElementwise(.axpy, .axpyV4, [.float(alpha), .buffer(memX), .buffer(memY), .int(x.count)], count: x.count) }
    }

    public func uncheckedMultiply(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        let (memA, memB, memOut) = (try mem(a, "multiply"), try mem(b, "multiply"), try mem(out, "multiply"))
        try locked {
            try launchElementwise(.multiply, .multiplyV4, [.buffer(memA), .buffer(memB), .buffer(memOut), .int(a.count)], count: a.count)
        }
    }

    public func uncheckedActivationForward(_ activation: Activation, _ x: Tensor, into y: Tensor) throws {
        let (kernel, vectorKernel): (KernelName, KernelName) = switch activation {
        case .relu: (.reluForward, .reluForwardV4)
        case .tanh: (.tanhForward, .tanhForwardV4)
        case .sigmoid: (.sigmoidForward, .sigmoidForwardV4)
        }
        let (memX, memY) = (try mem(x, "activationForward"), try mem(y, "activationForward"))
        try locked { try launchElementwise(kernel, vectorKernel, [.buffer(memX), .buffer(memY), .int(x.count)], count: x.count) }
    }

    public func uncheckedActivationBackward(_ activation: Activation, output y: Tensor, gradOutput dy: Tensor, into dx: Tensor) throws {
        let (kernel, vectorKernel): (KernelName, KernelName) = switch activation {
        case .relu: (.reluBackward, .reluBackwardV4)
        case .tanh: (.tanhBackward, .tanhBackwardV4)
        case .sigmoid: (.sigmoidBackward, .sigmoidBackwardV4)
        }
        let op = "activationBackward"
        let (memY, memDy, memDx) = (try mem(y, op), try mem(dy, op), try mem(dx, op))
        try locked { try launchElementwise(kernel, vectorKernel, [.buffer(memY), .buffer(memDy), .buffer(memDx), .int(y.count)], count: y.count) }
    }
}
