package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * SD 3's T5 encoder session ({@code text_encoder_3}, Optimum's {@code t5-encoder} export) with its
 * contract probed: an integer ids input and a {@code last_hidden_state} {@code [batch, tokens, width]}
 * output whose width must be the transformer's {@code joint_attention_dim}, checked on the first run.
 *
 * <p>Owns its session; {@link #close()} closes it. Not thread-safe.
 */
final class T5TextEncoder implements AutoCloseable {
    private final Path file;
    private final InferenceSession session;
    private final TensorSpec idsInput;
    private final String output;
    private final int width;

    /**
     * Probes {@code session}, taking ownership of it.
     *
     * @throws MalformedModelException naming {@code file} when it has no integer ids input, no rank-3
     *     output, or a declared width other than {@code width}
     */
    T5TextEncoder(Path file, InferenceSession session, int width) {
        this.file = file;
        this.session = session;
        this.width = width;
        try {
            this.idsInput = session.inputs().stream().filter(s -> !s.dtype().isFloatingPoint()).findFirst()
                    .orElseThrow(() -> new MalformedModelException(file, "a T5 encoder needs an integer input_ids "
                            + "input; it declares " + session.inputs()));
            TensorSpec hidden = session.outputs().stream().filter(s -> s.name().equals("last_hidden_state")).findFirst()
                    .or(() -> session.outputs().stream().filter(s -> s.rank() == 3).findFirst())
                    .orElseThrow(() -> new MalformedModelException(file, "a T5 encoder needs a last_hidden_state output "
                            + "[batch, tokens, width]; it declares " + session.outputs()));
            long declared = hidden.rank() == 3 ? hidden.shape()[2] : -1;
            if (declared > 0 && declared != width) {
                throw new MalformedModelException(file, "T5 output " + hidden.name() + " is " + declared
                        + " wide but the transformer's joint_attention_dim is " + width);
            }
            this.output = hidden.name();
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    /** The {@code [tokens * width]} states of one padded id sequence. */
    float[] encode(int[] ids) {
        long[] wide = Arrays.stream(ids).asLongStream().toArray();
        try (Tensor longs = Tensor.ofLongs(wide, 1, ids.length);
             Tensor input = idsInput.dtype() == DType.INT64 ? null : longs.to(idsInput.dtype());
             NamedTensors out = session.run(Map.of(idsInput.name(), input == null ? longs : input))) {
            Tensor hidden = out.get(output);
            long[] shape = hidden.shape();
            if (shape.length != 3 || shape[0] != 1 || shape[1] != ids.length || shape[2] != width) {
                throw new MalformedModelException(file, "T5 output " + output + " has shape " + Arrays.toString(shape)
                        + "; expected [1, " + ids.length + ", " + width + "] (width = joint_attention_dim)");
            }
            return hidden.toFloatArray();
        }
    }

    @Override
    public void close() {
        session.close();
    }
}
