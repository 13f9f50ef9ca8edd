import KernelImageKit
import KernelKitCore

/// The X.509 certificates built into a kernel image: the system keyring that
/// `certs/system_certificates.S` embeds (CONFIG_SYSTEM_TRUSTED_KEYS and the build's
/// signing key), which is what the kernel checks module signatures against.
extension KernelImage {
    /// Every DER certificate in `vmlinux`, in order, without duplicates.
    public static func certificates(inKernel vmlinux: [UInt8]) -> [X509Certificate] {
        var out = [X509Certificate]()
        var i = 0
        let n = vmlinux.count
        while i + 8 < n {
            // A certificate starts `30 82 LL LL 30 82`: a long SEQUENCE holding a long SEQUENCE.
            if vmlinux[i] == 0x30, vmlinux[i + 1] == 0x82, vmlinux[i + 4] == 0x30, vmlinux[i + 5] == 0x82,
               let length = X509Certificate.derLength(vmlinux, at: i),
               let cert = try? X509Certificate(der: Array(vmlinux[i..<(i + length)])) {
                if !out.contains(cert) { out.append(cert) }
                i += length
                continue
            }
            i += 1
        }
        return out
    }

    /// The certificates built into a kernel image file.
    public static func certificates(imageFile path: String) throws(KernelKitError) -> [X509Certificate] {
        let image = try InputFile.readBytes(path)
        let certs = certificates(inKernel: try KernelImage.vmlinux(image, file: path))
        if certs.isEmpty {
            throw failure(.noCertificates, "the kernel holds no X.509 certificates (built without CONFIG_MODULE_SIG or SYSTEM_TRUSTED_KEYS?)", path)
        }
        return certs
    }
}
