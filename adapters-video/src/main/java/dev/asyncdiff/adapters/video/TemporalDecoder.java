package dev.asyncdiff.adapters.video;

import dev.asyncdiff.api.CancellationToken;
import dev.asyncdiff.api.GenerationListener;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * SVD's temporal VAE decoder ({@code AutoencoderKLTemporalDecoder}): latents divided by the scaling factor, decoded
 * {@code chunk} frames per call with {@code num_frames} set to the chunk's length, as diffusers'
 * {@code decode_latents}. The decoder mixes frames within a chunk only, so the chunk size changes the output a little
 * and bounds the decoder's memory. Owns its session.
 */
final class TemporalDecoder implements AutoCloseable {
    private static final String NUM_FRAMES = "num_frames";

    private final Path file;
    private final InferenceSession session;
    private final double scalingFactor;
    private final int channels;
    private final int factor;
    private final String latentInput;
    private final boolean takesFrameCount;

    TemporalDecoder(VideoFolder folder, PipelineContext context) {
        this.file = folder.modelFile("vae_decoder");
        this.scalingFactor = folder.config("vae_decoder").path("scaling_factor").asDouble(0.18215);
        this.channels = folder.config("vae_decoder").path("latent_channels").asInt(4);
        this.factor = folder.sdView().vaeScaleFactor();
        if (!(scalingFactor > 0)) {
            throw new MalformedModelException(folder.directory().resolve("vae_decoder/config.json"),
                    "scaling_factor must be positive, was " + scalingFactor);
        }
        this.session = context.loadModel(file);
        List<String> inputs = session.inputs().stream().map(TensorSpec::name).toList();
        this.takesFrameCount = inputs.contains(NUM_FRAMES);
        this.latentInput = inputs.stream().filter(name -> !name.equals(NUM_FRAMES)).findFirst()
                .orElseThrow(() -> new MalformedModelException(file, "the decoder takes no latent input"));
    }

    /**
     * Decodes the clip's {@code frames} latents ({@code [frames, channels, h, w]} from {@code offset}) to frames
     * {@code [3, h·f, w·f]} nominally in [-1, 1], {@code chunk} frames per call (0: all at once).
     */
    List<float[]> decode(float[] latents, int offset, int frames, int h, int w, int chunk, int decodedBefore,
                         int totalFrames, GenerationListener listener, CancellationToken cancellation) {
        int perFrame = channels * h * w;
        int step = chunk <= 0 ? frames : chunk;
        List<float[]> out = new ArrayList<>(frames);
        for (int start = 0; start < frames; start += step) {
            cancellation.throwIfCancelled();
            int count = Math.min(step, frames - start);
            float[] unscaled = new float[count * perFrame];
            for (int i = 0; i < unscaled.length; i++) {
                unscaled[i] = (float) (latents[offset + start * perFrame + i] / scalingFactor);
            }
            out.addAll(decodeChunk(unscaled, count, h, w));
            listener.onFramesDecoded(decodedBefore + start + count, totalFrames);
        }
        return out;
    }

    private List<float[]> decodeChunk(float[] unscaled, int count, int h, int w) {
        Map<String, Tensor> feed = new LinkedHashMap<>();
        try (Tensor in = Tensor.ofFloats(unscaled, count, channels, h, w);
             Tensor frameCount = Tensor.ofLongs(new long[] {count}, 1)) {
            feed.put(latentInput, in);
            if (takesFrameCount) {
                feed.put(NUM_FRAMES, frameCount);
            }
            try (NamedTensors out = session.run(feed)) {
                Tensor sample = out.contains("sample") ? out.get("sample") : out.asMap().values().iterator().next();
                long[] expected = {count, 3, (long) h * factor, (long) w * factor};
                if (!Arrays.equals(sample.shape(), expected)) {
                    throw new MalformedModelException(file, "the decoder's output has shape "
                            + Arrays.toString(sample.shape()) + "; expected " + Arrays.toString(expected));
                }
                float[] all = sample.toFloatArray();
                int perFrame = 3 * h * factor * w * factor;
                List<float[]> frames = new ArrayList<>(count);
                for (int f = 0; f < count; f++) {
                    frames.add(Arrays.copyOfRange(all, f * perFrame, (f + 1) * perFrame));
                }
                return frames;
            }
        }
    }

    @Override
    public void close() {
        session.close();
    }
}
