package dev.asyncdiff.adapters.video;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;

/** Animated GIF files through javax.imageio's GIF writer and reader. */
final class GifClips {
    static final String IMAGE_FORMAT = "javax_imageio_gif_image_1.0";
    /** The delay field is an unsigned 16-bit count of 1/100 s. */
    private static final int MAX_DELAY = 0xFFFF;

    private GifClips() {
    }

    /** The per-frame delay for {@code fps} in 1/100 s: rounded, at least 1, at most 65535. */
    static int delayCentiseconds(double fps) {
        return (int) Math.max(1, Math.min(MAX_DELAY, Math.round(100.0 / fps)));
    }

    /**
     * Writes {@code frames} to {@code file}, each with a graphic control extension (disposal none, the
     * delay from {@code fps}) and the first with the NETSCAPE2.0 extension that loops forever.
     */
    static void write(List<BufferedImage> frames, double fps, Path file) throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        try (ImageOutputStream stream = ImageIO.createImageOutputStream(file.toFile())) {
            writer.setOutput(stream);
            writer.prepareWriteSequence(null);
            ImageWriteParam param = writer.getDefaultWriteParam();
            String delay = Integer.toString(delayCentiseconds(fps));
            for (int i = 0; i < frames.size(); i++) {
                BufferedImage frame = frames.get(i);
                IIOMetadata metadata = writer.getDefaultImageMetadata(
                        ImageTypeSpecifier.createFromRenderedImage(frame), param);
                metadata.mergeTree(IMAGE_FORMAT, frameTree(delay, i == 0));
                writer.writeToSequence(new IIOImage(frame, null, metadata), param);
            }
            writer.endWriteSequence();
        } finally {
            writer.dispose();
        }
    }

    /** The frames of a GIF as stored, not composited (clips this package writes are full-frame). */
    static List<BufferedImage> read(Path file) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
            try {
                reader.setInput(in, false);
                int count = reader.getNumImages(true);
                List<BufferedImage> frames = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    frames.add(reader.read(i));
                }
                return frames;
            } finally {
                reader.dispose();
            }
        }
    }

    private static IIOMetadataNode frameTree(String delay, boolean first) {
        IIOMetadataNode root = new IIOMetadataNode(IMAGE_FORMAT);
        IIOMetadataNode control = new IIOMetadataNode("GraphicControlExtension");
        control.setAttribute("disposalMethod", "none");
        control.setAttribute("userInputFlag", "FALSE");
        control.setAttribute("transparentColorFlag", "FALSE");
        control.setAttribute("delayTime", delay);
        control.setAttribute("transparentColorIndex", "0");
        root.appendChild(control);
        if (first) {
            IIOMetadataNode extensions = new IIOMetadataNode("ApplicationExtensions");
            IIOMetadataNode loop = new IIOMetadataNode("ApplicationExtension");
            loop.setAttribute("applicationID", "NETSCAPE");
            loop.setAttribute("authenticationCode", "2.0");
            // Sub-block 1 holds the loop count (little-endian); 0 means forever.
            loop.setUserObject(new byte[] {1, 0, 0});
            extensions.appendChild(loop);
            root.appendChild(extensions);
        }
        return root;
    }
}
