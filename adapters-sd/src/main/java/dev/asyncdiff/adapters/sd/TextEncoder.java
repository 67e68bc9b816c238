package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A CLIP text encoder session with its export's contract probed: the ids input ({@code input_ids},
 * int32 or int64), the last hidden state ({@code last_hidden_state}), the penultimate layer's state
 * ({@code hidden_states.N-1} when the export lists {@code hidden_states.0..N}) and the pooled
 * embedding ({@code text_embeds}, else {@code pooler_output}).
 *
 * <p>Owns its session; {@link #close()} closes it. Not thread-safe.
 */
final class TextEncoder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TextEncoder.class);
    private static final Pattern HIDDEN_STATE = Pattern.compile("hidden_states\\.(\\d+)");

    private final Path file;
    private final InferenceSession session;
    private final TensorSpec idsInput;
    private final String lastHiddenOutput;
    private final String penultimateOutput;
    private final String pooledOutput;

    /**
     * Probes {@code session}, taking ownership of it.
     *
     * @throws MalformedModelException naming {@code file} when it has no integer ids input or no
     *                                 {@code [batch, tokens, width]} output
     */
    TextEncoder(Path file, InferenceSession session) {
        this.file = file;
        this.session = session;
        try {
            this.idsInput = session.inputs().stream()
                    .filter(s -> s.name().equals("input_ids") && !s.dtype().isFloatingPoint()).findFirst()
                    .or(() -> session.inputs().stream().filter(s -> !s.dtype().isFloatingPoint()).findFirst())
                    .orElseThrow(() -> new MalformedModelException(file, "a text encoder needs an integer input_ids "
                            + "input; it declares " + session.inputs()));
            String last = null;
            String rank3 = null;
            String pooled = null;
            String pooler = null;
            int deepest = -1;
            for (TensorSpec output : session.outputs()) {
                Matcher m = HIDDEN_STATE.matcher(output.name());
                if (m.matches()) {
                    deepest = Math.max(deepest, Integer.parseInt(m.group(1)));
                } else if (output.name().equals("last_hidden_state")) {
                    last = output.name();
                } else if (output.name().equals("text_embeds")) {
                    pooled = output.name();
                } else if (output.name().equals("pooler_output")) {
                    pooler = output.name();
                }
                if (rank3 == null && output.rank() == 3 && !m.matches()) {
                    rank3 = output.name();
                }
            }
            this.lastHiddenOutput = last != null ? last : rank3;
            if (lastHiddenOutput == null) {
                throw new MalformedModelException(file, "a text encoder needs a last_hidden_state output "
                        + "[batch, tokens, width]; it declares " + session.outputs());
            }
            this.penultimateOutput = deepest >= 1 ? "hidden_states." + (deepest - 1) : null;
            this.pooledOutput = pooled != null ? pooled : pooler;
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
    }

    /** The hidden states of one padded id sequence. */
    record Output(float[] hidden, int tokens, int width, float[] pooled) {
    }

    /**
     * Encodes one padded id sequence.
     *
     * @param penultimate whether to return the penultimate layer's state (SDXL) instead of the last
     * @param wantPooled  whether the pooled embedding is needed
     */
    Output encode(int[] ids, boolean penultimate, boolean wantPooled) {
        String hiddenName = lastHiddenOutput;
        if (penultimate) {
            if (penultimateOutput == null) {
                LOG.warn("{} exports no hidden_states.N outputs; conditioning on last_hidden_state instead of the "
                        + "penultimate layer", file);
            } else {
                hiddenName = penultimateOutput;
            }
        }
        if (wantPooled && pooledOutput == null) {
            throw new MalformedModelException(file, "SDXL needs the second text encoder's pooled text_embeds "
                    + "(or pooler_output) output; it declares " + session.outputs());
        }
        try (Tensor input = idsTensor(ids); NamedTensors out = session.run(Map.of(idsInput.name(), input))) {
            Tensor hidden = out.get(hiddenName);
            long[] shape = hidden.shape();
            if (shape.length != 3 || shape[0] != 1) {
                throw new MalformedModelException(file, "output " + hiddenName + " has shape "
                        + java.util.Arrays.toString(shape) + "; expected [1, tokens, width]");
            }
            float[] pooled = wantPooled ? out.get(pooledOutput).toFloatArray() : null;
            return new Output(hidden.toFloatArray(), (int) shape[1], (int) shape[2], pooled);
        }
    }

    private Tensor idsTensor(int[] ids) {
        if (idsInput.dtype() == DType.INT32) {
            return Tensor.ofInts(ids, 1, ids.length);
        }
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            wide[i] = ids[i];
        }
        Tensor longs = Tensor.ofLongs(wide, 1, ids.length);
        if (idsInput.dtype() == DType.INT64) {
            return longs;
        }
        try (longs) {
            return longs.to(idsInput.dtype());
        }
    }

    @Override
    public void close() {
        session.close();
    }
}
