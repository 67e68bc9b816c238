package dev.asyncdiff.cli;

import dev.asyncdiff.adapters.sd.UpscalePipeline;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.synthetic.Family;
import java.awt.image.BufferedImage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code asyncdiff upscale}: the x4 upscaler on a low-resolution image, with every option of {@code generate}
 * (prompt, steps, guidance, seed, devices, strategy, CFG-parallel, output) plus the noise level and the tile
 * size; {@code --image} is required, {@code --mask} and {@code --strength} do not apply.
 */
@Command(name = "upscale",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = {
            "Upscales an image 4x with the Stable Diffusion x4 upscaler (--image, --prompt), sequentially or with",
            "AsyncDiff across devices; large inputs are upscaled tile by tile.",
            "Without --model a synthetic tiny x4 upscaler with random weights makes a smoke run."
        })
final class UpscaleCommand extends GenerateCommand {
    @Option(names = "--noise-level", paramLabel = "N", defaultValue = "" + GenerationRequest.DEFAULT_NOISE_LEVEL,
            description = "Noise given to the low-resolution image first, at most the model's max_noise_level "
                    + "(default: ${DEFAULT-VALUE}).")
    int noiseLevel;

    @Option(names = "--tile-size", paramLabel = "PIXELS", defaultValue = "" + UpscalePipeline.DEFAULT_TILE_SIZE,
            description = "Inputs larger than this per side are upscaled in overlapping tiles of this size, so memory "
                    + "stays bounded; 0 never tiles (default: ${DEFAULT-VALUE}).")
    int tileSize;

    @Override
    Family defaultFamily() {
        return Family.X4_UPSCALER;
    }

    @Override
    void startFrom(GenerationRequest.Builder request, BufferedImage initImage, BufferedImage maskImage) {
        request.upscale(initImage, noiseLevel);
    }

    @Override
    void configure(DiffusionPipeline pipeline) {
        if (!(pipeline instanceof UpscalePipeline upscaler)) {
            throw usage("--model is a " + pipeline.family() + " folder, not an x4 upscaler (use generate)");
        }
        upscaler.setTileSize(tileSize);
    }

    @Override
    void validateFlags() {
        super.validateFlags();
        if (image == null) {
            throw usage("upscale needs the image to upscale: --image FILE");
        }
        if (mask != null) {
            throw usage("upscale takes no --mask (inpainting is generate --image --mask)");
        }
        if (noiseLevel < 0) {
            throw usage("--noise-level must be >= 0, was " + noiseLevel);
        }
        if (tileSize < 0) {
            throw usage("--tile-size must be >= 0, was " + tileSize);
        }
    }
}
