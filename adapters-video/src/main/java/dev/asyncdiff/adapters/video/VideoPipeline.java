package dev.asyncdiff.adapters.video;

import dev.asyncdiff.adapters.sd.DenoiserRunner;
import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.spi.PipelineContext;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the video pipelines share: the folder, the context that places and runs their models, the UNet's
 * configuration and strategy ({@link DenoiserRunner}), generation at image and tensor level from one
 * {@link #produce}, the frame count and size checks, and closing in order (strategy, models, then the context).
 */
abstract class VideoPipeline implements DiffusionPipeline {
    private static final Logger LOG = LoggerFactory.getLogger(VideoPipeline.class);

    final VideoFolder folder;
    final PipelineContext context;
    final DenoiserRunner denoiser;
    private boolean closed;

    VideoPipeline(VideoFolder folder, PipelineContext context) {
        this.folder = folder;
        this.context = context;
        this.denoiser = new DenoiserRunner(context, folder.modelFile("unet"));
    }

    /** One generation's latents, frames and parameters. */
    abstract Clips produce(GenerationRequest request);

    /** The models the pipeline loaded around the loop, closed by {@link #close()}. */
    abstract List<AutoCloseable> models();

    @Override
    public String family() {
        return folder.family().id();
    }

    @Override
    public Set<RequestKind> requestKinds() {
        return Set.of(folder.family().kind());
    }

    @Override
    public void setAsyncConfig(AsyncConfig config) {
        requireOpen();
        denoiser.setAsyncConfig(config);
    }

    @Override
    public AsyncConfig asyncConfig() {
        return denoiser.asyncConfig();
    }

    @Override
    public void setCfgParallel(boolean value) {
        requireOpen();
        denoiser.setCfgParallel(value);
    }

    @Override
    public boolean cfgParallel() {
        return denoiser.cfgParallel();
    }

    @Override
    public String strategyName() {
        return denoiser.strategyName();
    }

    /**
     * Makes the clips: every frame in {@link GenerationResult#images()}, clip after clip, one parameters text per
     * clip.
     *
     * @throws IllegalArgumentException when the request is not the family's kind, or its frames or size do not fit
     */
    @Override
    public GenerationResult generate(GenerationRequest request) {
        return produce(served(request)).toResult(request.seed());
    }

    /**
     * Makes the clips at the tensor level: the final latents in the UNet's layout (SVD {@code [clips, frames, 4, h,
     * w]}, AnimateDiff {@code [clips, 4, frames, h, w]}) and the frames {@code [clips·frames, 3, height, width]} in
     * [0, 1]. The caller closes the output.
     */
    @Override
    public PipelineOutput run(GenerationRequest request) {
        return produce(served(request)).toPipelineOutput();
    }

    /**
     * The request's frame count, or the folder's default.
     *
     * @throws IllegalArgumentException when it is above the model's maximum
     */
    int frames(GenerationRequest request) {
        int frames = request.video().frames() > 0 ? request.video().frames() : folder.defaultFrames();
        int max = folder.maxFrames();
        if (max > 0 && frames > max) {
            throw new IllegalArgumentException(frames + " frames are more than the " + folder.family().displayName()
                    + " model in " + folder.directory() + " takes: its motion modules hold positions for at most "
                    + max + " frames (motion_max_seq_length)");
        }
        return frames;
    }

    /**
     * Checks that {@code width × height} fits the UNet.
     *
     * @throws IllegalArgumentException naming the size and the multiple
     */
    void checkSize(int width, int height, String what) {
        int multiple = folder.sizeMultiple();
        if (width % multiple != 0 || height % multiple != 0) {
            throw new IllegalArgumentException(what + " is " + width + "x" + height + ", but the "
                    + folder.family().displayName() + " UNet takes sides that are multiples of " + multiple
                    + " pixels; give a size that is (--size WxH)");
        }
    }

    private GenerationRequest served(GenerationRequest request) {
        requireOpen();
        if (request == null) {
            throw new IllegalArgumentException("a generation request is required");
        }
        RequestKind kind = folder.family().kind();
        if (request.kind() != kind) {
            throw new IllegalArgumentException("the " + folder.family().displayName() + " pipeline for "
                    + folder.directory() + " serves " + kind.id() + ", not " + request.kind().id()
                    + (kind == RequestKind.IMAGE_TO_VIDEO ? " (give a still image to start the clip from, --image)"
                    : " (give a prompt and no image)"));
        }
        return request;
    }

    void requireOpen() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + " for " + folder.directory() + " is closed");
        }
    }

    /** Closes the strategy, the models, then the context; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            denoiser.close();
        } finally {
            models().forEach(VideoPipeline::closeQuietly);
            closeQuietly(context);
        }
    }

    static void closeQuietly(AutoCloseable resource) {
        try {
            resource.close();
        } catch (Exception e) {
            LOG.warn("closing {} failed: {}", resource, e.toString());
        }
    }
}
