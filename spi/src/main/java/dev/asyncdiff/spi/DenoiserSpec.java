package dev.asyncdiff.spi;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A denoiser as an adapter describes it to the runtime: the exported model and the shapes it runs
 * at, so the runtime can plan and cache its split.
 *
 * @param model        the whole denoiser, e.g. {@code unet/model.onnx} or {@code transformer/model.onnx}
 * @param latentHeight the latents' height the generation runs at
 * @param latentWidth  the latents' width
 * @param inputShapes  the shape of each denoiser input at this size, batch included (binds the export's
 *                     dynamic axes); inputs left out keep the shapes the model declares
 */
public record DenoiserSpec(Path model, int latentHeight, int latentWidth, Map<String, long[]> inputShapes) {
    public DenoiserSpec {
        if (model == null) {
            throw new IllegalArgumentException("a denoiser spec needs the model file");
        }
        if (latentHeight <= 0 || latentWidth <= 0) {
            throw new IllegalArgumentException("latent height and width must be positive, was " + latentHeight + "x"
                    + latentWidth);
        }
        inputShapes = inputShapes == null ? Map.of() : java.util.Collections.unmodifiableMap(
                new LinkedHashMap<>(inputShapes));
    }
}
