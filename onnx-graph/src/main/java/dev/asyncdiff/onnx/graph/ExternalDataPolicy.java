package dev.asyncdiff.onnx.graph;

/** Where {@link OnnxWriter} puts initializer bytes. */
public enum ExternalDataPolicy {
    /** Everything inline in the model file (fails past protobuf's 2 GiB limit). */
    INLINE,
    /** Every initializer of at least {@link OnnxWriter#EXTERNAL_MIN_BYTES} bytes in the data file. */
    EXTERNAL,
    /** Inline, unless the initializers exceed {@link OnnxWriter#AUTO_EXTERNAL_THRESHOLD} bytes in all. */
    AUTO
}
