package dev.asyncdiff.adapters.video;

import dev.asyncdiff.api.RequestKind;
import java.util.List;

/** The video families the {@code video} adapter runs, told apart by {@code model_index.json}'s {@code _class_name}. */
public enum VideoFamily {
    /**
     * Stable Video Diffusion (img2vid, img2vid-xt): a still image's CLIP embedding and latents condition a
     * spatio-temporal UNet over {@code [batch, frames, 8, h, w]}, EDM Euler, a temporal VAE decoder.
     */
    SVD("svd", "Stable Video Diffusion", "StableVideoDiffusionPipeline", RequestKind.IMAGE_TO_VIDEO,
            List.of("unet", "image_encoder", "vae_encoder", "vae_decoder"), 25, 3.0),
    /**
     * AnimateDiff: an SD 1.5 base whose UNet carries motion modules over {@code [batch, 4, frames, h, w]}, its CLIP
     * text encoder, DDIM, the SD VAE decoding frame by frame.
     */
    ANIMATEDIFF("animatediff", "AnimateDiff", "AnimateDiffPipeline", RequestKind.TEXT_TO_VIDEO,
            List.of("unet", "text_encoder", "vae_decoder"), 16, 7.5);

    private final String id;
    private final String displayName;
    private final String pipelineClass;
    private final RequestKind kind;
    private final List<String> models;
    private final int defaultFrames;
    private final double defaultGuidance;

    VideoFamily(String id, String displayName, String pipelineClass, RequestKind kind, List<String> models,
                int defaultFrames, double defaultGuidance) {
        this.id = id;
        this.displayName = displayName;
        this.pipelineClass = pipelineClass;
        this.kind = kind;
        this.models = models;
        this.defaultFrames = defaultFrames;
        this.defaultGuidance = defaultGuidance;
    }

    /** The short name, e.g. {@code svd}. */
    public String id() {
        return id;
    }

    /** The name for messages. */
    public String displayName() {
        return displayName;
    }

    /** diffusers' pipeline class, as {@code model_index.json} names it. */
    public String pipelineClass() {
        return pipelineClass;
    }

    /** The one kind of request the family serves. */
    public RequestKind kind() {
        return kind;
    }

    /** The components whose {@code model.onnx} the folder must hold. */
    List<String> models() {
        return models;
    }

    /** Frames per clip when neither the request nor the UNet's config says (SVD-xt's 25, AnimateDiff's 16). */
    int defaultFrames() {
        return defaultFrames;
    }

    /** diffusers' default guidance scale (SVD's {@code max_guidance_scale} 3.0, AnimateDiff's 7.5). */
    public double defaultGuidance() {
        return defaultGuidance;
    }

    /** The family whose pipeline class is {@code className}, or null. */
    static VideoFamily ofPipelineClass(String className) {
        for (VideoFamily family : values()) {
            if (family.pipelineClass.equals(className)) {
                return family;
            }
        }
        return null;
    }
}
