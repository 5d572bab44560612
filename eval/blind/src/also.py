"""Alternative correct labels for the blind set (field `also` in questions.jsonl).

ALSO maps an ORIGINAL id (b001…b342; variants inherit) to the other guide sections that answer the question
AS WELL AS its labelled guide/section. Each entry is "<guide-id>#<exact ## or ### heading>", or "<guide-id>#"
(empty heading) when the guide as a whole / its summary is the answer to a general question.

Decided on 2026-12-03 by a helper session started from the project, by reading the 26 guides in knowledge/ and
the questions (see README.md, "Alternative labels"). Rules applied:
  - the section on its own gives the resident the complete answer to what was asked; "related" or "answers
    half of it" is not enough;
  - for specific questions the row's fact regex matches the section text (one exception, b173, is marked and
    makes validate.py warn);
  - the section is about the question's subject (a dedicated heading, a summary, a contacts or fees section);
    a fact repeated in passing inside a section about something else is not recorded;
  - hotline questions: only the contact sections of support-contacts and of guides about the same service;
  - rows labelled with the guide summary (section "") get only other guides, never other sections of the
    same guide;
  - no_guide rows: the new guide (and its section) is recorded when it fully answers. build.py drops an entry
    equal to a row's final primary label (the GUIDES_ADDED relabel in build.py makes e.g. "passport#" primary).

Relabelled by topic in build.py (GUIDES_ADDED) but NOT answered by the new guide, so nothing is recorded here:
  b203, b204 (driving-licence: nothing on renewing / reissuing a licence or the health check),
  b205, b206 (health-insurance: no contribution or out-of-network coverage rates),
  b207, b208, b242 (social-benefits: no eligibility rules for monthly allowances / hưu trí xã hội),
  b219 (household-business: the tax-free revenue threshold is not stated, only "ask the tax office"),
  b243 (health-insurance: meaning of the old card-code characters not explained).
"""

ALSO = {
    # ---------------- vneid-activate
    "b001": [
        "vneid-activate#Các bước",  # step 8: đăng nhập bằng số định danh và mật khẩu
    ],
    "b002": [
        "vneid-activate#Các bước",  # step 5: mật khẩu dài 8–20 ký tự, đủ 4 loại ký tự
    ],
    "b003": [
        "vneid-activate#Cần chuẩn bị",  # "mã passcode 6 số"
    ],
    "b004": [
        "vneid-activate#Tóm tắt",  # không có điện thoại thông minh -> máy tính tại vneid.gov.vn
    ],
    "b009": [
        "scam-safety#Tóm tắt",  # chỉ cài VNeID từ App Store, Google Play
    ],
    "b010": [
        "vneid-troubleshoot#Không nhận được mã OTP",  # same problem, dedicated (more detailed) section
    ],
    "b011": [
        "vneid-troubleshoot#Tóm tắt",  # lỗi VNeID -> gọi 1900 0368
        "vneid-troubleshoot#Hỏi ở đâu",  # 1900 0368 (Bộ Công an)
        "support-contacts#Tóm tắt",  # VNeID gọi 1900 0368
        "support-contacts#Các bước",  # step 1: VNeID -> 1900 0368
        "support-contacts#Hỏi ở đâu",  # VNeID, căn cước: 1900 0368
    ],
    # ---------------- vneid-register-level2
    "b014": [
        "driving-licence#Chưa có VNeID mức 2 hoặc không tự làm được",  # mang căn cước + điện thoại số chính chủ đến Công an xã
    ],
    "b018": [
        "vneid-register-level2#Các bước",  # step 1: mang thẻ căn cước và điện thoại
        "driving-licence#Chưa có VNeID mức 2 hoặc không tự làm được",  # thẻ căn cước gắn chip + điện thoại số đứng tên mình
    ],
    "b019": [
        "vneid-register-level2#Hỏi ở đâu",  # Công an xã nơi đăng ký, 1900 0368
    ],
    "b020": [
        "vneid-register-level2#Cần chuẩn bị",  # chưa có thẻ -> mức 2 làm cùng lúc với thẻ căn cước
    ],
    "b021": [
        "vneid-register-level2#Tóm tắt",  # chỉ đăng ký trực tiếp, chụp ảnh và lấy vân tay
        'vneid-register-level2#Có người gọi điện "nâng cấp mức 2", "kích hoạt tại nhà"',  # chỉ làm tại công an vì phải lấy vân tay
        "dvc-login#Tài khoản mới mức độ 1",  # mức 2 chỉ làm trực tiếp (chụp ảnh, lấy vân tay), không làm tại nhà
        "judicial-record#Không vào được VNeID hoặc chưa có mức 2",  # same statement
        'scam-safety#Gọi điện "nâng cấp mức 2", "sửa lỗi VNeID"',  # mức 2 chỉ làm trực tiếp tại công an (chụp ảnh, lấy vân tay)
    ],
    # ---------------- vneid-troubleshoot
    "b025": [
        "vneid-troubleshoot#Đổi sang điện thoại mới",  # không còn máy cũ -> quét chip NFC
    ],
    "b026": [
        "vneid-troubleshoot#Đổi sang điện thoại mới",  # same situation (no old phone) -> NFC
    ],
    "b031": [
        "support-contacts#Các bước",  # step 1: khóa tài khoản -> 1900 0368
    ],
    # ---------------- vneid-documents
    "b034": [
        "driving-licence#Bằng giấy cấp từ 1995 đến 2013",  # dedicated: bằng giấy 1995–7/2013 chỉ ghi năm sinh
    ],
    "b035": [
        "health-insurance#Chưa thấy thẻ BHYT trong VNeID",  # Ví giấy tờ -> Tích hợp thông tin -> thẻ BHYT
    ],
    "b036": [
        "health-insurance#Tóm tắt",  # căn cước gắn chip, VNeID hoặc VssID
        "health-insurance#Các bước",  # đưa căn cước để quét; hoặc mở thẻ trên VNeID/VssID
    ],
    "b041": [
        "driving-licence#Đã đổi bằng trực tuyến mà chưa có thẻ nhựa",  # dedicated: bằng điện tử trên VNeID có giá trị
    ],
    # ---------------- dvc-login
    "b043": [
        "dvc-login#Tóm tắt",  # tài khoản cũ hết hiệu lực sau 30/6/2024
    ],
    "b044": [
        "dvc-login#Quét mã QR không được",  # app hỏi quyền đăng nhập web -> bấm đồng ý rồi quét lại
    ],
    "b046": [
        "dvc-login#Cần chuẩn bị",  # mức 2 mới dùng được dịch vụ công trực tuyến
    ],
    "b048": [
        "dvc-login#Hỏi ở đâu",  # tổng đài Cổng 18001096
        "support-contacts#Tóm tắt",  # Cổng Dịch vụ công quốc gia gọi 18001096
        "support-contacts#Các bước",  # step 2: đăng ký, tra cứu trên dichvucong.gov.vn -> 18001096
        "support-contacts#Hỏi ở đâu",  # Cổng Dịch vụ công quốc gia: 18001096
    ],
    "b049": [
        "scam-safety#Trang web dịch vụ công giả",  # dedicated: địa chỉ thật duy nhất dichvucong.gov.vn, đuôi .gov.vn
    ],
    "b051": [
        "dvc-login#Quét mã QR không được",  # states the số định danh + mật khẩu VNeID route (better than Các bước)
    ],
    # ---------------- dvc-submit
    "b053": [
        "dvc-submit#Các bước",  # step 2: gõ tên thủ tục vào ô tìm kiếm (ví dụ "đăng ký tạm trú")
    ],
    "b055": [
        "dvc-submit#Các bước",  # step 3: chọn tỉnh rồi xã/phường theo tên mới sau 1/7/2025
    ],
    "b057": [
        "dvc-submit#Tóm tắt",  # hệ thống cấp mã hồ sơ để tra cứu
        "dvc-track#Tóm tắt",  # mỗi hồ sơ có mã hồ sơ, dùng để tra cứu
    ],
    "b061": [
        "dvc-track#Phí và thời gian",  # nộp sau 15 giờ -> tính từ ngày làm việc tiếp theo
    ],
    "b062": [
        "support-contacts#Hỏi ở đâu",  # bưu điện (Vietnam Post) giúp nộp hồ sơ trực tuyến
    ],
    # ---------------- dvc-track
    "b065": [
        "dvc-track#Các bước",  # step 1: đăng nhập rồi mở "Quản lý hồ sơ"
        "dvc-track#Tóm tắt",  # đăng nhập rồi vào "Quản lý hồ sơ"
    ],
    "b069": [
        "dvc-track#Hỏi ở đâu",  # phản ánh guipakn; khiếu nại chính thức ở bộ phận một cửa
        "dvc-rating#Tóm tắt",  # việc chậm -> phản ánh tại guipakn
        "dvc-rating#Muốn phản ánh một việc cụ thể",  # dedicated: how to file at guipakn
    ],
    "b070": [
        "e-signature#Phí và thời gian",  # kết quả điện tử có chữ ký số, giá trị như bản giấy
    ],
    "b072": [
        "support-contacts#Tóm tắt",  # thủ tục của tỉnh gọi mã vùng + 1022
        "support-contacts#Các bước",  # step 3: 1022 của tỉnh
        "support-contacts#Hỏi ở đâu",  # thủ tục của tỉnh: mã vùng + 1022
    ],
    # ---------------- payment-online
    "b077": [
        "passport#Không thấy thông báo nộp lệ phí",  # dedicated passport case: request comes after review
    ],
    "b078": [
        "support-contacts#Không biết cuộc gọi, tin nhắn thật hay giả",  # cơ quan nhà nước không gửi link đòi tiền
        "scam-safety#",  # scam guide as a whole: fake "phí" requests, only .gov.vn
    ],
    # ---------------- payment-troubleshoot
    "b082": [
        "payment-troubleshoot#Các bước",  # step 1: không trả lần thứ hai
        "payment-troubleshoot#Tóm tắt",  # không trả lần hai
    ],
    "b085": [
        "dvc-rating#Bị đòi thêm tiền ngoài lệ phí",  # dedicated: guipakn hoặc 1022
    ],
    "b086": [
        "scam-safety#",  # never give OTP to anyone, incl. people claiming to be officials
    ],
    "b088": [
        "payment-troubleshoot#Bị trừ tiền mà hồ sơ vẫn báo chưa thanh toán",  # exact situation, gọi 18001096
        "payment-troubleshoot#Hỏi ở đâu",  # 18001096
    ],
    # ---------------- birth-registration
    "b091": [
        "health-insurance#Thẻ BHYT cho trẻ mới sinh",  # same VNeID path: Thủ tục hành chính -> khai sinh, thường trú, BHYT
    ],
    "b092": [
        "birth-registration#Tóm tắt",  # trong 60 ngày thì không mất phí
    ],
    "b094": [
        "birth-registration#Nộp lâu mà chưa có kết quả",  # hạn 3 ngày làm việc, 5 nếu xác minh
    ],
    "b099": [
        "birth-registration#Tóm tắt",  # từ 1/7/2025 UBND xã/phường giải quyết
    ],
    # ---------------- marriage-registration
    "b101": [
        "marriage-registration#Tóm tắt",  # giấy xác nhận có giá trị 6 tháng
        "marriage-registration#Phí và thời gian",  # giấy xác nhận có giá trị 6 tháng
    ],
    "b102": [
        "marriage-registration#Cần chuẩn bị",  # không "cấp lại"; nộp lại giấy cũ, mất thì ký cam kết
    ],
    "b103": [
        "marriage-registration#Cần giấy xác nhận tình trạng hôn nhân",  # xin ở UBND xã/phường, có thể chọn nơi đang sống
        "marriage-registration#Tóm tắt",  # nộp ở xã/phường không phải nơi cư trú
    ],
    "b106": [
        "marriage-registration#Tóm tắt",  # từ 1/7/2025 UBND xã/phường đăng ký kết hôn
    ],
    # ---------------- death-registration
    "b110": [
        "death-registration#Quá hạn mới đi khai tử",  # khai tử trong 15 ngày
    ],
    "b114": [
        "social-benefits#Người nhà mất, xin tiền mai táng",  # same liên thông procedure (khai tử, xóa thường trú, mai táng)
    ],
    "b115": [
        "death-registration#Phí và thời gian",  # hạn xóa đăng ký thường trú 7 ngày
        "residence-registration#Phí và thời gian",  # người trong hộ mất: xóa thường trú trong 7 ngày
    ],
    "b116": [
        "death-registration#Hỏi ở đâu",  # bảo hiểm xã hội 1900 9068
        "social-benefits#Hỏi ở đâu",  # Bảo hiểm xã hội 1900 9068 (lương hưu, mai táng phí)
        "support-contacts#Hỏi ở đâu",  # Bảo hiểm xã hội, VssID: 1900 9068
    ],
    # ---------------- residence-registration
    "b123": [
        "dvc-submit#Phí và thời gian",  # tạm trú 15.000 đ trực tiếp / 7.000 đ online
    ],
    "b124": [
        "dvc-submit#Phí và thời gian",  # đăng ký thường trú 20.000 đ / 10.000 đ
    ],
    "b129": [
        'scam-safety#Tin nhắn "cập nhật địa chỉ, quê quán sau sáp nhập"',  # dedicated: tự động, ai đòi cập nhật là lừa
    ],
    # ---------------- judicial-record
    "b132": [
        "judicial-record#Tóm tắt",  # từ 1/3/2025 Công an tỉnh cấp, Sở Tư pháp không còn
        "judicial-record#Hỏi ở đâu",  # Công an tỉnh/thành phố; Sở Tư pháp không còn cấp
    ],
    "b135": [
        "judicial-record#Phí và thời gian",  # khoảng 10 ngày
    ],
    "b137": [
        "judicial-record#Cần chuẩn bị",  # cần tài khoản mức 2, chưa có thì đăng ký ở Công an xã
    ],
    # ---------------- certified-copy
    "b145": [
        "vneid-documents#Cán bộ vẫn đòi bản giấy, bản photo",  # Chỉ thị 24/CT-TTg, Nghị định 280/2025
        "vneid-documents#Tóm tắt",  # Chỉ thị 24/CT-TTg cấm đòi bản giấy, bản sao
    ],
    "b148": [
        "certified-copy#Tóm tắt",  # việc chứng thực cấp huyện nay do UBND xã/phường làm
    ],
    # ---------------- can-cuoc
    "b150": [
        "can-cuoc#Tóm tắt",  # đổi khi đủ 14, 25, 40 và 60 tuổi
    ],
    "b155": [
        "can-cuoc#Tóm tắt",  # có thẻ sau khoảng 7 ngày làm việc
    ],
    "b160": [
        "can-cuoc#Tóm tắt",  # cấp lần đầu miễn phí
    ],
    "b162": [
        "can-cuoc#Tóm tắt",  # Công an xã/phường/đặc khu hoặc PC06
    ],
    # ---------------- e-signature
    "b163": [
        "e-signature#Tóm tắt",  # tạm trú: chỉ cần đăng nhập VNeID mức 2, không cần chữ ký số
    ],
    "b164": [
        "e-signature#Đăng ký chứng thư chữ ký số trên VNeID",  # the section that actually holds the fact (Dịch vụ khác -> Chứng thư chữ ký số)
    ],
    "b171": [
        "e-signature#Tóm tắt",  # đăng nhập VNeID mức 2 là đủ, không cần chữ ký số riêng
    ],
    # ---------------- scam-safety
    "b173": [
        "payment-online#Tin nhắn đòi nộp phí qua đường link",  # địa chỉ trên VNeID cập nhật tự động, không mất phí
        "residence-registration#Có người gọi bảo cập nhật địa chỉ sau sáp nhập",  # exact situation; says "tự đổi" (equivalent fact, regex does not match -> validate warns)
    ],
    "b175": [
        "scam-safety#Các bước",  # step 3: lỡ cài ứng dụng lạ -> báo ngay công an (answers "giờ sao đây")
    ],
    "b176": [
        "traffic-fines#Nhận tin nhắn, cuộc gọi báo phạt nguội",  # dedicated: thông báo thật là thư mời, tin nhắn mang tên 18001096 là giả
    ],
    "b177": [
        'vneid-register-level2#Có người gọi điện "nâng cấp mức 2", "kích hoạt tại nhà"',  # công an không làm VNeID qua điện thoại, không cài theo link
        "scam-safety#Ứng dụng VNeID, dịch vụ công giả",  # link cài VNeID giả
    ],
    "b178": [
        'vneid-register-level2#Có người gọi điện "nâng cấp mức 2", "kích hoạt tại nhà"',  # không có "mức 3"
    ],
    "b179": [
        "dvc-login#Gặp trang giả mạo",  # trang thật duy nhất là dichvucong.gov.vn
    ],
    "b180": [
        "scam-safety#Hỏi ở đâu",  # báo trang web lừa đảo: canhbao.khonggianmang.vn
    ],
    "b182": [
        "health-insurance#Thẻ người về hưu ghi hết hạn 31/12",  # dedicated: thẻ hưu trí tự gia hạn, ai gọi đòi là lừa
    ],
    "b184": [
        "scam-safety#Phí và thời gian",  # khóa, mở khóa VNeID miễn phí
        "vneid-troubleshoot#Phí và thời gian",  # khóa, mở khóa: miễn phí
        "vneid-register-level2#Phí và thời gian",  # khóa và mở khóa tài khoản: miễn phí
    ],
    "b185": [
        'social-benefits#Có người gọi bảo "kích hoạt nhận tiền an sinh"',  # state gift scam: không đọc OTP
    ],
    # ---------------- support-contacts
    "b186": [
        "support-contacts#Hỏi ở đâu",  # 1900 0368 (phím 4)
        "vneid-activate#Hỏi ở đâu",  # 1900 0368, bấm phím 4
        "vneid-troubleshoot#Tóm tắt",  # 1900 0368 (bấm phím 4)
        "vneid-troubleshoot#Hỏi ở đâu",  # 1900 0368, phím 4
        "vneid-register-level2#Hỏi ở đâu",  # 1900 0368, bấm phím 4
        "vneid-documents#Hỏi ở đâu",  # Tổng đài VNeID 1900 0368, phím 4
    ],
    "b187": [
        "vneid-troubleshoot#Hỏi ở đâu",  # hay bận máy, gọi lại lúc khác; hoặc Công an xã
    ],
    "b188": [
        "support-contacts#Tóm tắt",  # mã vùng + 1022
        "support-contacts#Các bước",  # step 3: bấm mã vùng trước
        "support-contacts#Hỏi ở đâu",  # mã vùng + 1022
        "dvc-track#Hỏi ở đâu",  # gọi mã vùng + 1022 từ di động
        "dvc-rating#Hỏi ở đâu",  # gọi mã vùng + 1022 từ di động
    ],
    "b189": [
        "support-contacts#Các bước",  # step 2: 18001096 (miễn phí)
        "dvc-login#Hỏi ở đâu",  # 18001096 (miễn phí)
        "dvc-rating#Hỏi ở đâu",  # 18001096 (miễn phí)
    ],
    "b190": [
        "support-contacts#Các bước",  # step 5: thanh niên tình nguyện, Tổ công nghệ số giúp
    ],
    "b191": [
        "health-insurance#Hỏi ở đâu",  # Tổng đài BHXH 1900 9068; cơ quan BHXH sửa thông tin thẻ
        "vneid-documents#Hỏi ở đâu",  # bảo hiểm xã hội cho thẻ BHYT, VssID: 1900 9068
    ],
    "b192": [
        "dvc-rating#Muốn phản ánh một việc cụ thể",  # dedicated: guipakn
        "dvc-rating#Tóm tắt",  # chậm, làm sai -> phản ánh tại guipakn
    ],
    "b196": [
        "scam-safety#Tin nhắn phạt nguội giả",  # tin nhắn có link, kể cả mang tên 18001096, là giả
    ],
    # ---------------- no_guide rows now answered by a new guide (build.py relabels these by topic)
    "b197": [
        "passport#",  # new guide answers fee and time
        "passport#Phí và thời gian",  # 200.000 đ (giảm 50% năm 2025), 8 ngày làm việc
    ],
    "b198": [
        "passport#",  # new guide answers
        "passport#Ảnh bị báo không đạt",  # ảnh 4x6, nền trắng, 6 tháng, JPG...
    ],
    "b199": [
        "passport#",  # new guide answers
        "passport#Không biết nộp ở tỉnh nào",  # làm lại có thể chọn Cục Quản lý xuất nhập cảnh
    ],
    "b200": [
        "passport#",  # new guide answers
        "passport#Làm hộ chiếu cho con dưới 14 tuổi",  # cha mẹ nộp bằng VNeID của mình, không chip, 5 năm
    ],
    "b201": [
        "traffic-fines#",  # tra trên csgt.bocongan.gov.vn hoặc VNeTraffic, không tin trang khác
    ],
    "b202": [
        "traffic-fines#",  # phải làm việc với công an, có quyết định rồi mới nộp online
    ],
    "b209": [
        "social-benefits#",  # quà 100.000 đ qua tài khoản an sinh trên VNeID
        "social-benefits#Chưa nhận được tiền hỗ trợ",  # chi theo hộ thường trú, chủ hộ nhận; hỏi UBND xã
    ],
    "b218": [
        "household-business#",  # ai phải đăng ký, nộp ở xã/phường nơi đặt cửa hàng
    ],
    # ---------------- vague / typo rows
    "b254": [
        "vneid-troubleshoot#Không nhận được mã OTP",  # same problem as b010
    ],
    "b261": [
        "driving-licence#",  # bằng đã xác thực trên VNeID có giá trị như bằng thật
    ],
    # ---------------- complaints
    "b333": [
        "vneid-troubleshoot#Hỏi ở đâu",  # 1900 0368 hay bận máy, gọi lại lúc khác; hoặc Công an xã
    ],
    "b335": [
        "payment-troubleshoot#Tóm tắt",  # không trả lần hai, giữ mã giao dịch, báo tổng đài, tra soát
        "payment-troubleshoot#Các bước",  # same procedure step by step
    ],
    "b336": [
        "dvc-rating#Muốn phản ánh một việc cụ thể",  # dedicated: guipakn
        "dvc-rating#Tóm tắt",  # thái độ cán bộ -> đánh giá; việc cần xử lý -> guipakn
    ],
    "b337": [
        "support-contacts#Các bước",  # step 5: thanh niên tình nguyện, Tổ công nghệ số giúp
    ],
    "b340": [
        "vneid-activate#Tóm tắt",  # không có điện thoại thông minh -> máy tính tại vneid.gov.vn
    ],
}
