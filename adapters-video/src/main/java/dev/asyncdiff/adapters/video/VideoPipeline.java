package dev.asyncdiff.adapters.video;

import dev.asyncdiff.adapters.sd.DenoiserPipeline;
import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.GenerationResult;
import dev.asyncdiff.api.PipelineOutput;
import dev.asyncdiff.api.RequestKind;
import dev.asyncdiff.spi.PipelineContext;
import java.util.Set;

/**
 * What the video pipelines share beyond {@link DenoiserPipeline}: the folder, generation at image and tensor level
 * from one {@link #produce}, and the frame count and size checks.
 */
abstract class VideoPipeline extends DenoiserPipeline {
    final VideoFolder folder;

    VideoPipeline(VideoFolder folder, PipelineContext context) {
        super(folder.directory(), context, folder.modelFile("unet"));
        this.folder = folder;
    }

    /** One generation's latents, frames and parameters. */
    abstract Clips produce(GenerationRequest request);

    @Override
    public String family() {
        return folder.family().id();
    }

    @Override
    public Set<RequestKind> requestKinds() {
        return Set.of(folder.family().kind());
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
}
