package dev.asyncdiff.adapters.video;

import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.Map;

/**
 * The {@code video} model adapter: Stable Video Diffusion ({@link SvdPipeline}, image-to-video) and AnimateDiff
 * ({@link AnimateDiffPipeline}, text-to-video) folders.
 */
public final class VideoAdapterProvider implements ModelAdapterProvider {
    /** The name users select this adapter by. */
    public static final String NAME = "video";

    @Override
    public String name() {
        return NAME;
    }

    /** Whether {@code modelDir}'s {@code model_index.json} names {@code StableVideoDiffusionPipeline} or {@code AnimateDiffPipeline}. */
    @Override
    public boolean supports(Path modelDir) {
        return VideoFolder.looksSupported(modelDir);
    }

    /**
     * The shapes the UNet of the video folder {@code modelDir} runs at, batch 1, for {@code frames} frames (0: the
     * folder's default) of {@code latentHeight × latentWidth} latents: what {@code asyncdiff split} binds the frame
     * axis with.
     *
     * @throws dev.asyncdiff.api.MalformedModelException when the folder is not a complete video folder
     */
    public static Map<String, long[]> denoiserInputShapes(Path modelDir, int latentHeight, int latentWidth,
                                                          int frames) {
        VideoFolder folder = VideoFolder.open(modelDir);
        return folder.denoiserInputShapes(frames > 0 ? frames : folder.defaultFrames(), latentHeight, latentWidth);
    }

    @Override
    public DiffusionPipeline open(Path modelDir, PipelineContext context) {
        return switch (VideoFolder.open(modelDir).family()) {
            case SVD -> SvdPipeline.open(modelDir, context);
            case ANIMATEDIFF -> AnimateDiffPipeline.open(modelDir, context);
        };
    }
}
