package dev.asyncdiff.api;

/**
 * Where a session puts its outputs: a worker passes its pool so that output memory is reused from
 * round to round instead of allocated per call.
 */
@FunctionalInterface
public interface TensorAllocator {
    /** Fresh zero-filled tensors on the CPU, reclaimed by the garbage collector after close. */
    TensorAllocator UNPOOLED = Tensor::zeros;

    /**
     * A tensor of {@code dtype} and {@code shape}; the caller closes it. Its contents are undefined
     * (a pool hands back memory as it was left): the caller overwrites every element.
     */
    Tensor allocate(DType dtype, long... shape);
}
