package dev.asyncdiff.api;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOInvalidTreeException;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import org.w3c.dom.Node;

/**
 * Conversions between images and the VAE's tensors ({@code [3, h, w]} in [-1, 1]), and PNG files
 * with text chunks. Pixels follow diffusers: {@code round(clamp(x / 2 + 0.5, 0, 1) * 255)}, rounding
 * half to even. Stateless and thread-safe.
 */
public final class Images {
    private static final String PNG_FORMAT = "javax_imageio_png_1.0";

    private Images() {
    }

    /** The RGB image of {@code chw} ({@code [3, height, width]} from {@code offset}, values in [-1, 1]). */
    public static BufferedImage fromTensorData(float[] chw, int offset, int height, int width) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int plane = height * width;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = offset + y * width + x;
                int r = toByte(chw[p]);
                int g = toByte(chw[p + plane]);
                int b = toByte(chw[p + 2 * plane]);
                image.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return image;
    }

    /**
     * {@code image} as {@code [3, height, width]} values in [-1, 1], resized with Pillow's Lanczos (diffusers' image
     * processors' default) when its size differs.
     */
    public static float[] toTensorData(BufferedImage image, int width, int height) {
        return toTensorData(image, width, height, Resample.LANCZOS);
    }

    /** {@code image} as {@code [3, height, width]} values in [-1, 1], resized with {@code filter} when its size differs. */
    public static float[] toTensorData(BufferedImage image, int width, int height, Resample filter) {
        BufferedImage source = image.getWidth() == width && image.getHeight() == height ? image
                : resize(image, width, height, filter);
        int plane = height * width;
        float[] chw = new float[3 * plane];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int rgb = source.getRGB(x, y);
                int p = y * width + x;
                chw[p] = ((rgb >> 16) & 0xFF) / 127.5f - 1f;
                chw[p + plane] = ((rgb >> 8) & 0xFF) / 127.5f - 1f;
                chw[p + 2 * plane] = (rgb & 0xFF) / 127.5f - 1f;
            }
        }
        return chw;
    }

    /** {@code image} resized to {@code width × height} with Pillow's Lanczos, as diffusers' image processors do. */
    public static BufferedImage resize(BufferedImage image, int width, int height) {
        return resize(image, width, height, Resample.LANCZOS);
    }

    /**
     * {@code image} resized to {@code width × height} with {@code filter}, equal to Pillow's
     * {@code Image.resize((width, height), filter)} on the RGB image pixel for pixel.
     *
     * @throws IllegalArgumentException when a size is not positive
     */
    public static BufferedImage resize(BufferedImage image, int width, int height, Resample filter) {
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("an image is resized to a positive size, not " + width + "x" + height);
        }
        int[] rgb = image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
        int[] resized = PillowResampler.resample(rgb, image.getWidth(), image.getHeight(), width, height, filter);
        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        out.setRGB(0, 0, width, height, resized, 0, width);
        return out;
    }

    /**
     * Reads an image file (PNG, JPEG, BMP, GIF, or any format ImageIO knows).
     *
     * @throws IllegalArgumentException naming the file when it is missing or not a readable image
     */
    public static BufferedImage read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("image file " + file.toAbsolutePath() + " does not exist");
        }
        BufferedImage image;
        try {
            image = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("image file " + file.toAbsolutePath() + " cannot be read as an image: "
                    + e.getMessage(), e);
        }
        if (image == null) {
            throw new IllegalArgumentException("image file " + file.toAbsolutePath() + " is not an image "
                    + "(expected PNG, JPEG, BMP or GIF)");
        }
        return image;
    }

    /**
     * Writes {@code image} as a PNG file with one text chunk per entry of {@code text} ({@code tEXt}
     * when the value is Latin-1, else UTF-8 {@code iTXt}).
     *
     * @throws UncheckedIOException naming the file when it cannot be written
     */
    public static void writePng(BufferedImage image, Path file, Map<String, String> text) {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try {
            ImageWriteParam param = writer.getDefaultWriteParam();
            IIOMetadata metadata = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(image),
                    param);
            IIOMetadataNode root = new IIOMetadataNode(PNG_FORMAT);
            IIOMetadataNode latin = new IIOMetadataNode("tEXt");
            IIOMetadataNode international = new IIOMetadataNode("iTXt");
            for (Map.Entry<String, String> entry : text.entrySet()) {
                if (StandardCharsets.ISO_8859_1.newEncoder().canEncode(entry.getValue())) {
                    IIOMetadataNode node = new IIOMetadataNode("tEXtEntry");
                    node.setAttribute("keyword", entry.getKey());
                    node.setAttribute("value", entry.getValue());
                    latin.appendChild(node);
                } else {
                    IIOMetadataNode node = new IIOMetadataNode("iTXtEntry");
                    node.setAttribute("keyword", entry.getKey());
                    node.setAttribute("compressionFlag", "FALSE");
                    node.setAttribute("compressionMethod", "0");
                    node.setAttribute("languageTag", "");
                    node.setAttribute("translatedKeyword", "");
                    node.setAttribute("text", entry.getValue());
                    international.appendChild(node);
                }
            }
            if (latin.hasChildNodes()) {
                root.appendChild(latin);
            }
            if (international.hasChildNodes()) {
                root.appendChild(international);
            }
            metadata.mergeTree(PNG_FORMAT, root);
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            try (OutputStream out = Files.newOutputStream(file);
                 ImageOutputStream stream = ImageIO.createImageOutputStream(out)) {
                writer.setOutput(stream);
                writer.write(null, new IIOImage(image, null, metadata), param);
            }
        } catch (IIOInvalidTreeException e) {
            throw new IllegalStateException("cannot build the PNG text chunks for " + file + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        } finally {
            writer.dispose();
        }
    }

    /**
     * The text chunk {@code keyword} of a PNG file ({@code tEXt} or {@code iTXt}), or null when it has none.
     *
     * @throws UncheckedIOException naming the file when it cannot be read
     */
    public static String readPngText(Path file, String keyword) {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                return null;
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in);
                Node root = reader.getImageMetadata(0).getAsTree(PNG_FORMAT);
                for (Node chunk = root.getFirstChild(); chunk != null; chunk = chunk.getNextSibling()) {
                    for (Node entry = chunk.getFirstChild(); entry != null; entry = entry.getNextSibling()) {
                        if (entry.getAttributes() == null || entry.getAttributes().getNamedItem("keyword") == null
                                || !keyword.equals(entry.getAttributes().getNamedItem("keyword").getNodeValue())) {
                            continue;
                        }
                        Node value = entry.getAttributes().getNamedItem(
                                entry.getNodeName().equals("iTXtEntry") ? "text" : "value");
                        if (value != null) {
                            return value.getNodeValue();
                        }
                    }
                }
                return null;
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file.toAbsolutePath() + ": " + e.getMessage(), e);
        }
    }

    private static int toByte(float value) {
        double unit = Math.min(1.0, Math.max(0.0, value / 2.0 + 0.5));
        if (Double.isNaN(value)) {
            unit = 0.0;
        }
        return (int) Math.rint(unit * 255.0);
    }
}
