package dev.asyncdiff.adapters.sd;

import com.fasterxml.jackson.databind.JsonNode;
import dev.asyncdiff.api.Images;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.spi.PipelineContext;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The exported VAE halves: the decoder ({@code latent_sample} to {@code sample}) and, loaded on
 * first use, the encoder ({@code sample} to {@code latent_parameters}, whose first half of channels
 * is the mean, or to {@code latent_sample}). Latents are scaled by the config's
 * {@code scaling_factor} (and shifted by {@code shift_factor} where the config has one).
 *
 * <p>Owns its sessions; {@link #close()} closes them. Not thread-safe.
 */
public final class Vae implements AutoCloseable {
    private final ModelFolder model;
    private final PipelineContext context;
    private final InferenceSession decoder;
    private final double scalingFactor;
    private final double shiftFactor;
    private final int latentChannels;
    private final int scaleFactor;
    private InferenceSession encoder;

    /** Loads the decoder of {@code model} where {@code context} places models around the loop. */
    public Vae(ModelFolder model, PipelineContext context) {
        this.model = model;
        this.context = context;
        JsonNode config = model.config("vae_decoder");
        if (config.isEmpty()) {
            config = model.config("vae_encoder");
        }
        this.scalingFactor = config.path("scaling_factor").asDouble(0.18215);
        this.shiftFactor = config.path("shift_factor").isNumber() ? config.get("shift_factor").asDouble() : 0.0;
        this.latentChannels = config.path("latent_channels").asInt(4);
        this.scaleFactor = model.vaeScaleFactor();
        if (!(scalingFactor > 0)) {
            throw new MalformedModelException(model.directory().resolve("vae_decoder/config.json"),
                    "scaling_factor must be positive, was " + scalingFactor);
        }
        this.decoder = context.loadModel(model.modelFile("vae_decoder"));
    }

    /** Latent channels (4 for SD 1.x, 2.x and XL). */
    public int latentChannels() {
        return latentChannels;
    }

    /** Image pixels per latent pixel, per side. */
    public int scaleFactor() {
        return scaleFactor;
    }

    /** The scaling factor latents are multiplied by after encoding. */
    public double scalingFactor() {
        return scalingFactor;
    }

    /** Decodes one image's latents ({@code [channels, h, w]} from {@code offset}) to an image. */
    BufferedImage decode(float[] latents, int offset, int latentHeight, int latentWidth) {
        return Images.fromTensorData(decodeToTensorData(latents, offset, latentHeight, latentWidth), 0,
                latentHeight * scaleFactor, latentWidth * scaleFactor);
    }

    /**
     * Decodes one image's latents ({@code [channels, h, w]} from {@code offset}) to the decoder's
     * output {@code [3, h × factor, w × factor]}, values nominally in [-1, 1].
     */
    public float[] decodeToTensorData(float[] latents, int offset, int latentHeight, int latentWidth) {
        return decodeBatch(latents, offset, 1, latentHeight, latentWidth).get(0);
    }

    /**
     * Decodes {@code count} images' latents ({@code [count, channels, h, w]} from {@code offset}) in one decoder call,
     * each to {@code [3, h × factor, w × factor]}, values nominally in [-1, 1].
     */
    public List<float[]> decodeBatch(float[] latents, int offset, int count, int latentHeight, int latentWidth) {
        int perImage = latentChannels * latentHeight * latentWidth;
        float[] unscaled = new float[count * perImage];
        for (int i = 0; i < unscaled.length; i++) {
            unscaled[i] = (float) (latents[offset + i] / scalingFactor + shiftFactor);
        }
        String input = inputName(decoder, "latent_sample");
        try (Tensor in = Tensor.ofFloats(unscaled, count, latentChannels, latentHeight, latentWidth);
             NamedTensors out = decoder.run(Map.of(input, in))) {
            Tensor sample = out.contains("sample") ? out.get("sample") : out.asMap().values().iterator().next();
            long[] shape = sample.shape();
            long[] expected = {count, 3, (long) latentHeight * scaleFactor, (long) latentWidth * scaleFactor};
            if (!Arrays.equals(shape, expected)) {
                throw new MalformedModelException(model.modelFile("vae_decoder"), "decoder output has shape "
                        + Arrays.toString(shape) + "; expected " + Arrays.toString(expected));
            }
            float[] all = sample.toFloatArray();
            int perPixels = all.length / count;
            List<float[]> images = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                images.add(Arrays.copyOfRange(all, i * perPixels, (i + 1) * perPixels));
            }
            return images;
        }
    }

    /**
     * Encodes {@code image} (resized to {@code width × height}) to scaled latents {@code [channels, h, w]}.
     *
     * @throws MalformedModelException when the folder has no {@code vae_encoder/model.onnx}
     */
    float[] encode(BufferedImage image, int width, int height) {
        return encode(Images.toTensorData(image, width, height), width, height);
    }

    /**
     * Encodes one image {@code [3, height, width]} with values in [-1, 1] to scaled latents {@code [channels, h, w]}.
     *
     * @throws MalformedModelException when the folder has no {@code vae_encoder/model.onnx}
     */
    public float[] encode(float[] chw, int width, int height) {
        InferenceSession session = encoder();
        String input = inputName(session, "sample");
        try (Tensor in = Tensor.ofFloats(chw, 1, 3, height, width);
             NamedTensors out = session.run(Map.of(input, in))) {
            Tensor latents;
            int channelsOut;
            if (out.contains("latent_sample")) {
                latents = out.get("latent_sample");
                channelsOut = latentChannels;
            } else {
                latents = out.contains("latent_parameters") ? out.get("latent_parameters")
                        : out.asMap().values().iterator().next();
                channelsOut = 2 * latentChannels;
            }
            long[] shape = latents.shape();
            int h = height / scaleFactor;
            int w = width / scaleFactor;
            if (!Arrays.equals(shape, new long[] {1, channelsOut, h, w})) {
                throw new MalformedModelException(model.modelFile("vae_encoder"), "encoder output has shape "
                        + Arrays.toString(shape) + "; expected [1, " + channelsOut + ", " + h + ", " + w + "]");
            }
            float[] values = latents.toFloatArray();
            int count = latentChannels * h * w;
            float[] scaled = new float[count];
            for (int i = 0; i < count; i++) {
                scaled[i] = (float) ((values[i] - shiftFactor) * scalingFactor);
            }
            return scaled;
        }
    }

    private InferenceSession encoder() {
        if (encoder == null) {
            Path file = model.modelFile("vae_encoder");
            if (!model.hasVaeEncoder()) {
                throw new MalformedModelException(model.directory(), "image-to-image needs the VAE encoder " + file
                        + ", which is missing");
            }
            encoder = context.loadModel(file);
        }
        return encoder;
    }

    private static String inputName(InferenceSession session, String preferred) {
        for (TensorSpec spec : session.inputs()) {
            if (spec.name().equals(preferred)) {
                return preferred;
            }
        }
        return session.inputs().get(0).name();
    }

    @Override
    public void close() {
        try {
            decoder.close();
        } finally {
            if (encoder != null) {
                encoder.close();
                encoder = null;
            }
        }
    }
}
