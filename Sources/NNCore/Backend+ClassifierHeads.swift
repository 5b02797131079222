/// Classifier heads: softmax, the fused losses, arg-max, and counting correct predictions.
///
/// Implement the `unchecked…` hooks; call ``Backend/softmax(_:into:)``, … instead.
public protocol ClassifierHeadOps: AnyObject, Sendable {
    func uncheckedSoftmax(_ x: Tensor, into y: Tensor) throws
    func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws
    func uncheckedSigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws
    func uncheckedArgmaxRows(_ x: Tensor, into out: Tensor) throws
    /// count += the number of rows whose arg-max equals their label, on operands validated by
    /// ``OpCheck/accumulateArgmaxMatches(_:labels:into:on:)``. The default implementation composes
    /// the arg-max and element-wise ops (eight passes); a backend overrides it to count in one.
    func uncheckedAccumulateArgmaxMatches(_ x: Tensor, labels: Tensor, into count: Tensor) throws
    /// The softmax cross-entropy with a training epoch's totals, on operands validated by
    /// ``OpCheck/softmaxCrossEntropy(_:labels:gradient:loss:lossSum:correctCount:on:)``. The default
    /// implementation composes the arg-max count, the cross-entropy and an axpy; a backend overrides
    /// it to do all three in fewer passes.
    func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                      lossSum: Tensor, correctCount: Tensor) throws
}

extension Backend {
    /// Row-wise softmax, subtracting each row's max first. y may alias x.
    public func softmax(_ x: Tensor, into y: Tensor) throws {
        try OpCheck.softmax(x, into: y, on: self)
        try uncheckedSoftmax(x, into: y)
    }

    /// Fused softmax + cross-entropy over m×C logits with m×1 integer labels:
    /// loss (1×1) ← −(1/m)·Σ log ŷ[i, label_i], computed as log-sum-exp so it stays finite;
    /// gradient (m×C) ← (ŷ − onehot(y))/m. Labels outside 0..<C give a NaN loss.
    public func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try OpCheck.softmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, on: self)
        try uncheckedSoftmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss)
    }

    /// ``softmaxCrossEntropy(_:labels:gradient:loss:)`` that also adds the batch to a training
    /// epoch's totals, each 1×1: lossSum += m·loss, and correctCount += the number of rows whose
    /// arg-max equals their label, as ``accumulateArgmaxMatches(_:labels:into:)`` counts them. It is
    /// what a training or evaluation step needs of a softmax head, and a backend does it in fewer
    /// passes than the three ops apart (the OpenCL backend in two launches rather than five).
    /// loss, lossSum and correctCount must be separate tensors.
    public func softmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                    lossSum: Tensor, correctCount: Tensor) throws {
        try OpCheck.softmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, lossSum: lossSum,
                                        correctCount: correctCount, on: self)
        try uncheckedSoftmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, lossSum: lossSum,
                                         correctCount: correctCount)
    }

    /// Fused sigmoid + binary cross-entropy over m×1 logits with 0/1 labels:
    /// loss ← (1/m)·Σ [softplus(z) − y·z], gradient ← (σ(z) − y)/m.
    public func sigmoidCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor) throws {
        try OpCheck.sigmoidCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss, on: self)
        try uncheckedSigmoidCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss)
    }

    /// out[i] ← index of the largest value in row i (first on ties), as a Float. `out` is m×1.
    public func argmaxRows(_ x: Tensor, into out: Tensor) throws {
        try OpCheck.argmaxRows(x, into: out, on: self)
        try uncheckedArgmaxRows(x, into: out)
    }

    /// count (1×1) += the number of rows i of x whose arg-max (the first on ties, as
    /// ``argmaxRows(_:into:)``) equals labels[i] (m×1): a classifier's correct predictions, counted
    /// on the device so that training reads them once an epoch, not once a step.
    public func accumulateArgmaxMatches(_ x: Tensor, labels: Tensor, into count: Tensor) throws {
        try OpCheck.accumulateArgmaxMatches(x, labels: labels, into: count, on: self)
        try uncheckedAccumulateArgmaxMatches(x, labels: labels, into: count)
    }

    /// The composed count: with integer-valued predictions p and labels y, [p = y] = relu(1 − (p − y)²)
    /// exactly; two m×1 temporaries and eight passes.
    public func uncheckedAccumulateArgmaxMatches(_ x: Tensor, labels: Tensor, into count: Tensor) throws {
        let column = Shape(x.rows, 1)
        let matches = try uncheckedMakeTensor(column), ones = try uncheckedMakeTensor(column)
        try uncheckedArgmaxRows(x, into: matches)
        try uncheckedAxpy(alpha: -1, labels, matches)
        try uncheckedMultiply(matches, matches, into: matches)
        try uncheckedScale(matches, by: -1)
        try uncheckedFill(ones, with: 1)
        try uncheckedAxpy(alpha: 1, ones, matches)
        try uncheckedActivationForward(.relu, matches, into: matches)
        try uncheckedReduce(.sum, matches, into: count, accumulate: true)
    }

    /// The composed head with totals: the count, the cross-entropy and the axpy of m·loss.
    public func uncheckedSoftmaxCrossEntropy(_ logits: Tensor, labels: Tensor, gradient: Tensor, loss: Tensor,
                                             lossSum: Tensor, correctCount: Tensor) throws {
        try uncheckedAccumulateArgmaxMatches(logits, labels: labels, into: correctCount)
        try uncheckedSoftmaxCrossEntropy(logits, labels: labels, gradient: gradient, loss: loss)
        try uncheckedAxpy(alpha: Float(logits.rows), loss, lossSum)
    }
}
