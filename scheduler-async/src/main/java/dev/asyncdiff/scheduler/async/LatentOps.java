package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.Tensor;
import java.nio.ByteBuffer;

/** The batch arithmetic of classifier-free guidance. Returned tensors are new; the caller closes them. */
public final class LatentOps {
    private LatentOps() {
    }

    /** {@code [x; x]}: the latents repeated along the batch axis, for the unconditional and conditional halves. */
    public static Tensor doubleBatch(Tensor x) {
        long[] shape = x.shape();
        shape[0] *= 2;
        Tensor out = Tensor.zeros(x.dtype(), shape);
        ByteBuffer target = out.buffer();
        target.put(x.buffer());
        target.put(x.buffer());
        return out;
    }

    /**
     * The guided prediction {@code u + scale · (c − u)} from {@code [u; c]}, as FP32 with half the batch.
     *
     * @throws IllegalArgumentException when the batch is odd
     */
    public static Tensor guide(Tensor prediction, double scale) {
        long[] shape = prediction.shape();
        if (shape.length == 0 || shape[0] % 2 != 0) {
            throw new IllegalArgumentException("a guided prediction needs an even batch [unconditional; conditional], "
                    + "got shape " + java.util.Arrays.toString(shape));
        }
        float[] values = prediction.toFloatArray();
        int half = values.length / 2;
        float[] guided = new float[half];
        for (int i = 0; i < half; i++) {
            float unconditional = values[i];
            guided[i] = (float) (unconditional + scale * (values[half + i] - unconditional));
        }
        shape[0] /= 2;
        return Tensor.ofFloats(guided, shape);
    }
}
